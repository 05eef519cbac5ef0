"""The secret's sftp.host_keys takes `ssh-keyscan` output as a tenant pastes it (issue 17, item 1): plain or hashed
lines of every type; a type the SFTP client cannot check is skipped with a warning; a malformed line, or no usable
line at all, refuses the secret when it is read, naming the line number and never the key."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.ports import CredentialsError


def blob(kind: str, body: bytes = b"\x00\x00\x00\x01\x01") -> str:
    """A public key blob of that type: its type as an SSH string, then (fake) key material."""
    return base64.b64encode(len(kind).to_bytes(4, "big") + kind.encode() + body).decode()


ED25519 = f"sftp.example ssh-ed25519 {blob('ssh-ed25519')}"
ECDSA = f"sftp.example ecdsa-sha2-nistp256 {blob('ecdsa-sha2-nistp256')}"
RSA = f"sftp.example ssh-rsa {blob('ssh-rsa')}"
SK = f"sftp.example sk-ssh-ed25519@openssh.com {blob('sk-ssh-ed25519@openssh.com')}"
SALT, DIGEST = base64.b64encode(b"s" * 20).decode(), base64.b64encode(b"h" * 20).decode()
HASHED = f"|1|{SALT}|{DIGEST} ssh-ed25519 {blob('ssh-ed25519')}"


def section(host_keys: Any) -> dict[str, Any]:
    return {"host": "sftp.example", "username": "u", "password": "pw", "host_keys": host_keys}


def test_plain_keyscan_output_with_rsa_ecdsa_ed25519_and_its_comment_is_accepted() -> None:
    keys = parse_sftp_section(section(["# sftp.example:22 SSH-2.0-OpenSSH_9.2p1", RSA, ECDSA, ED25519, ""])).host_keys
    assert [line.split()[1] for line in keys] == ["ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519"]


def test_a_hashed_line_is_accepted() -> None:
    assert parse_sftp_section(section([HASHED])).host_keys == (HASHED,)


@pytest.mark.parametrize(
    "kind",
    ["sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss", "ssh-ed25519-cert-v01@openssh.com"],
)
def test_a_type_the_client_cannot_check_is_skipped_with_a_warning(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        keys = parse_sftp_section(section([f"sftp.example {kind} {blob(kind)}", ED25519])).host_keys
    assert keys == (ED25519,)
    [record] = [r for r in caplog.records if "skipped" in r.getMessage()]
    assert record.__dict__["line"] == 1 and record.__dict__["key_type"] == kind


def test_a_secret_with_no_usable_line_is_refused() -> None:
    with pytest.raises(CredentialsError, match="no key of a type the SFTP client can check"):
        parse_sftp_section(section([SK]))


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (f"|1|not-base64!|{base64.b64encode(b'h' * 20).decode()} ssh-ed25519 {blob('ssh-ed25519')}", "host name"),
        (f"|1|{base64.b64encode(b's' * 20).decode()} ssh-ed25519 {blob('ssh-ed25519')}", "host name"),
        (f"sftp.example ssh-ed25519 {blob('ssh-ed25519')[:-3]}!!!", "not base64"),
        (f"sftp.example ssh-ed25519 {blob('ssh-rsa')}", "not base64 of a ssh-ed25519 key"),
        (f"sftp.example ssh-ed25519 {base64.b64encode(b'xx').decode()}", "not base64"),
    ],
    ids=["hash-salt-not-base64", "hash-without-digest", "key-not-base64", "key-of-another-type", "key-too-short"],
)
def test_a_malformed_line_refuses_the_secret_naming_its_line_number_not_the_key(bad: str, why: str) -> None:
    with pytest.raises(CredentialsError, match=f"line 2 .*{why}") as caught:
        parse_sftp_section(section([ED25519, bad]))
    assert bad.rsplit(maxsplit=1)[-1] not in str(caught.value) and bad.split(maxsplit=1)[0] not in str(caught.value)


@pytest.mark.parametrize(
    "odd",
    [
        "|1|||",
        "|1|a|b|c ssh-ed25519 AAAA",
        "@revoked * ssh-ed25519 AAAA",
        "h ssh-ed25519 \u00e9\u00e9",
        "h x y",
        7,
        None,
    ],
)
def test_any_odd_line_is_a_credentials_error_never_another_exception(odd: object) -> None:
    with pytest.raises(CredentialsError, match="line 1"):
        parse_sftp_section(section([odd, ED25519]))


def test_a_line_keeps_its_host_type_and_key_only_and_an_indented_comment_is_skipped() -> None:
    pasted = [
        "   # sftp.example:22 SSH-2.0-OpenSSH_9.2p1",
        f"sftp.example   ssh-ed25519\t{blob('ssh-ed25519')}  from keyscan",
    ]
    assert parse_sftp_section(section(pasted)).host_keys == (ED25519,)


def test_a_secret_whose_lines_are_all_skipped_says_which_lines_and_types_never_the_keys() -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_sftp_section(section(["# keyscan", SK, f"sftp.example ssh-dss {blob('ssh-dss')}"]))
    assert str(caught.value) == (
        "the secret's sftp.host_keys has no key of a type the SFTP client can check (ssh-ed25519, "
        "ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa); "
        "skipped: line 2 (sk-ssh-ed25519@openssh.com), line 3 (ssh-dss)"
    )


def test_a_secret_of_comments_only_is_refused_without_a_skipped_list() -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_sftp_section(section(["# sftp.example:22 SSH-2.0-OpenSSH_9.2p1", ""]))
    assert str(caught.value).endswith(
        "can check (ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa)"
    )


NOT_A_LINE = "the secret's sftp.host_keys line 1 is not a known_hosts line 'host key-type base64-key'"
BAD_NAME = "the secret's sftp.host_keys line 1 has a malformed host name (a hashed '|1|salt|hash' name?)"
NOT_THE_KEY = "the secret's sftp.host_keys line 1 has a key that is not base64 of a ssh-ed25519 key"


def typed(kind: bytes, size: int | None = None) -> str:
    """A blob whose type string is `kind`, its length field `size` (default: the true length), nothing after it."""
    return base64.b64encode((len(kind) if size is None else size).to_bytes(4, "big") + kind).decode()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"@revoked ssh-ed25519 {blob('ssh-ed25519')}", NOT_A_LINE),  # a marker, even without a host after it
        (f"@cert-authority sftp.example ssh-ed25519 {blob('ssh-ed25519')}", NOT_A_LINE),
        (f"sftp.example,|1|{SALT} ssh-ed25519 {blob('ssh-ed25519')}", BAD_NAME),  # one bad name in a name list
        (f"|1|!{SALT}|{DIGEST} ssh-ed25519 {blob('ssh-ed25519')}", BAD_NAME),  # a stray character in the salt
        (f"|1|{SALT}|{DIGEST}! ssh-ed25519 {blob('ssh-ed25519')}", BAD_NAME),  # ... in the digest
        (f"sftp.example ssh-ed25519 !{blob('ssh-ed25519')}", NOT_THE_KEY),  # ... in the key
        (f"sftp.example ssh-ed25519 {typed(b'ssh-ed25519', 13)}", NOT_THE_KEY),  # its type runs past its end
        (f"sftp.example ssh-ed25519 {typed('ssh-éd25519'.encode())}", NOT_THE_KEY),  # a type not in ASCII
    ],
    ids=[
        "revoked-marker",
        "cert-authority-marker",
        "bad-name-in-a-list",
        "salt-stray-character",
        "digest-stray-character",
        "key-stray-character",
        "type-past-the-end",
        "type-not-ascii",
    ],
)
def test_a_line_that_only_looks_right_is_refused_saying_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_sftp_section(section([line, ED25519]))
    assert str(caught.value) == message
