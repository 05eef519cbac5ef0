"""Which of the secret's known_hosts lines pin an SFTP endpoint (sftp_session.pinned_keys): a plain name pins port
22, `[host]:port` pins that port, a name list or a hashed name (`|1|salt|hmac`, as `ssh-keyscan -H` writes it)
pins each host it names, whatever the case; every line naming the endpoint counts, and a line that cannot be read
(settings built by hand, past the secret's parser) pins nothing, without stopping at it. No server: the lines alone
decide, before anything is dialled."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from profile_poller.adapters.sftp_session import connect, pinned_keys
from profile_poller.core.ports import SftpSettings, SourceLoginRefused

ED25519 = b"\x00\x00\x00\x0bssh-ed25519" + b"\x01" * 32
ECDSA = b"\x00\x00\x00\x13ecdsa-sha2-nistp256" + b"\x02" * 40


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


SALT = b"s" * 20


def digest(name: str) -> str:
    return b64(hmac.new(SALT, name.encode(), hashlib.sha1).digest())


def hashed(name: str) -> str:
    """`ssh-keygen -H`'s form of a host name: |1|base64(salt)|base64(HMAC-SHA1(salt, name))."""
    return f"|1|{b64(SALT)}|{digest(name)}"


def test_a_plain_name_pins_port_22_and_a_bracketed_name_pins_only_its_port() -> None:
    lines = (f"sftp.example ssh-ed25519 {b64(ED25519)}", f"[sftp.example]:2222 ecdsa-sha2-nistp256 {b64(ECDSA)}")
    assert pinned_keys(lines, "sftp.example", 22) == {("ssh-ed25519", ED25519)}
    assert pinned_keys(lines, "sftp.example", 2222) == {("ecdsa-sha2-nistp256", ECDSA)}
    assert pinned_keys(lines, "sftp.example", 23) == set()


def test_every_line_naming_the_endpoint_pins_it_after_lines_for_other_hosts() -> None:
    lines = (
        f"elsewhere.example ssh-ed25519 {b64(ED25519)}",
        f"sftp.example ssh-ed25519 {b64(ED25519)}",
        f"sftp.example ecdsa-sha2-nistp256 {b64(ECDSA)}",
    )
    assert pinned_keys(lines, "sftp.example", 22) == {("ssh-ed25519", ED25519), ("ecdsa-sha2-nistp256", ECDSA)}


def test_each_name_of_a_name_list_is_pinned() -> None:
    lines = (f"sftp.example,[sftp.example]:2222,10.0.0.7 ssh-ed25519 {b64(ED25519)}",)
    for host, port in [("sftp.example", 22), ("sftp.example", 2222), ("10.0.0.7", 22)]:
        assert pinned_keys(lines, host, port) == {("ssh-ed25519", ED25519)}, (host, port)


def test_host_names_match_whatever_their_case() -> None:
    assert pinned_keys((f"SFTP.Example ssh-ed25519 {b64(ED25519)}",), "sftp.example", 22) == {("ssh-ed25519", ED25519)}
    assert pinned_keys((f"sftp.example ssh-ed25519 {b64(ED25519)}",), "SFTP.example", 22) == {("ssh-ed25519", ED25519)}


@pytest.mark.parametrize(
    ("host", "port", "name"), [("sftp.example", 22, "sftp.example"), ("127.0.0.1", 2222, "[127.0.0.1]:2222")]
)
def test_a_hashed_name_pins_the_host_it_hashes_and_no_other(host: str, port: int, name: str) -> None:
    lines = (f"{hashed(name)} ssh-ed25519 {b64(ED25519)}",)
    assert pinned_keys(lines, host, port) == {("ssh-ed25519", ED25519)}
    assert pinned_keys(lines, "other.example", port) == set()


@pytest.mark.parametrize(
    "line",
    [
        "sftp.example ssh-ed25519",  # no key
        f"sftp.example ssh-ed25519 {b64(ED25519)[:-4]}!!!!",  # a key that is not base64
        f"{hashed('sftp.example')}|extra ssh-ed25519 {b64(ED25519)}",  # a hashed name of five parts
        # a salt or digest with a character outside base64 (a lenient decoder would drop it and match)
        f"|1|!{b64(SALT)}|{digest('sftp.example')} ssh-ed25519 {b64(ED25519)}",
        f"|1|{b64(SALT)}|{digest('sftp.example')}! ssh-ed25519 {b64(ED25519)}",
    ],
    ids=["two-fields", "key-not-base64", "hash-of-five-parts", "salt-not-base64", "digest-not-base64"],
)
def test_a_line_that_cannot_be_read_pins_nothing_and_the_next_line_still_counts(line: str) -> None:
    good = f"sftp.example ecdsa-sha2-nistp256 {b64(ECDSA)}"
    assert pinned_keys((line,), "sftp.example", 22) == set()
    assert pinned_keys((line, good), "sftp.example", 22) == {("ecdsa-sha2-nistp256", ECDSA)}


def test_a_host_without_a_pinned_key_is_refused_before_anything_is_dialled() -> None:
    # Given settings pinning another host only (built by hand: the adapter checks this before it connects)
    settings = SftpSettings(
        host="sftp.example", username="u", password="pw", host_keys=(f"elsewhere.example ssh-ed25519 {b64(ED25519)}",)
    )
    # When a connection is asked for, Then it is a refused login naming the endpoint, and no socket was opened
    # (the conftest fails a test whose connection leaves 127.0.0.0/8)
    with pytest.raises(SourceLoginRefused, match=r"no pinned host key for sftp\.example:22"):
        connect("sftp.example", 22, settings, 1.0)
