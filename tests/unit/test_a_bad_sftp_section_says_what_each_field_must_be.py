"""The secret's `sftp` section, read as a tenant writes it: each field's accepted range and default, and a bad field
refused with one line naming the field and what it must be (the operator fixes the secret from that line alone),
never its value. Host keys have their own module (test_host_keys_as_keyscan_prints_them.py)."""

from __future__ import annotations

from typing import Any

import pytest

from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.ports import CredentialsError
from tests.unit.test_host_keys_as_keyscan_prints_them import ED25519

PREFIX = "the secret's sftp."


def section(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"host": "sftp.example", "username": "u", "password": "pw", "host_keys": [ED25519]}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(("port", "expected"), [(None, 22), (1, 1), (65535, 65535), ("2222", 2222), (" 2222 ", 2222)])
def test_a_port_from_1_to_65535_is_taken_as_a_number_or_a_string_of_digits(port: object, expected: int) -> None:
    assert parse_sftp_section(section(port=port)).port == expected


@pytest.mark.parametrize(
    ("base_dir", "expected"), [(None, "/"), ("/", "/"), ("/out/", "/out"), ("/out//in/./", "/out/in")]
)
def test_base_dir_is_the_root_by_default_and_normalised_otherwise(base_dir: str | None, expected: str) -> None:
    assert parse_sftp_section(section(base_dir=base_dir)).base_dir == expected


def test_a_section_with_a_private_key_keeps_the_key_and_the_user_name() -> None:
    parsed = parse_sftp_section(section(username="campaign", password=None, private_key=f"  {KEY}\n"))
    assert (parsed.username, parsed.private_key, parsed.password) == ("campaign", KEY, None)


MUST = {
    "host": "must be a host name or IPv4 address without scheme, user or port",
    "port": "must be a whole number from 1 to 65535",
    "string": "must be a non-empty string",
    "base_dir": "must be an absolute path without '..'",
    "private_key": "must be an OpenSSH or PEM private key (-----BEGIN ... PRIVATE KEY-----)",
}
ONE_AUTH = "the secret's sftp section needs exactly one of 'private_key' and 'password'"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host": "user@sftp.example"}, f"{PREFIX}host {MUST['host']}"),
        ({"host": 42}, f"{PREFIX}host {MUST['string']}"),
        ({"username": 7}, f"{PREFIX}username {MUST['string']}"),
        ({"username": ["u"]}, f"{PREFIX}username {MUST['string']}"),
        ({"password": "   "}, f"{PREFIX}password {MUST['string']}"),
        ({"username": "a b"}, f"{PREFIX}username must be a non-empty string without spaces"),
        ({"password": None, "private_key": "hunter3"}, f"{PREFIX}private_key {MUST['private_key']}"),
        ({"password": None}, ONE_AUTH),
        ({"private_key": KEY}, ONE_AUTH),
        ({"port": 0}, f"{PREFIX}port {MUST['port']}"),
        ({"port": 65536}, f"{PREFIX}port {MUST['port']}"),
        ({"port": True}, f"{PREFIX}port {MUST['port']}"),
        ({"port": "22.5"}, f"{PREFIX}port {MUST['port']}"),
        ({"base_dir": "out"}, f"{PREFIX}base_dir {MUST['base_dir']}"),
        ({"base_dir": "/out/../etc"}, f"{PREFIX}base_dir {MUST['base_dir']}"),
        ({"base_dir": "/out\\in"}, f"{PREFIX}base_dir {MUST['base_dir']}"),
        ({"base_dir": "/out\tin"}, f"{PREFIX}base_dir {MUST['base_dir']}"),
        ({"base_dir": 5}, f"{PREFIX}base_dir {MUST['string']}"),
    ],
    ids=[
        "host-with-user",
        "host-a-number",
        "username-a-number",
        "username-a-list",
        "password-blank",
        "username-with-a-space",
        "private-key-not-a-key",
        "neither-key-nor-password",
        "both-key-and-password",
        "port-0",
        "port-65536",
        "port-a-boolean",
        "port-not-whole",
        "base-dir-relative",
        "base-dir-with-dot-dot",
        "base-dir-with-backslash",
        "base-dir-with-a-tab",
        "base-dir-a-number",
    ],
)
def test_a_bad_field_is_refused_saying_what_it_must_be(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_sftp_section(section(**changes))
    assert str(caught.value) == message


@pytest.mark.parametrize("value", [[], "sftp.example ssh-ed25519 AAAA", {"sftp.example": "ssh-ed25519 AAAA"}])
def test_host_keys_that_are_not_a_list_of_lines_are_refused_saying_so(value: object) -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_sftp_section(section(host_keys=value))
    assert (
        str(caught.value) == f"{PREFIX}host_keys must be a non-empty list of known_hosts lines (the pinned server keys)"
    )


@pytest.mark.parametrize("value", [["host", "u"], "sftp.example", None])
def test_a_section_that_is_not_an_object_is_refused_saying_so(value: object) -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_sftp_section(value)
    assert str(caught.value) == "the secret's sftp section must be a JSON object"


def test_an_unknown_field_is_named_by_its_first_40_characters() -> None:
    name = "private_key_" + "x" * 60
    with pytest.raises(CredentialsError) as caught:
        parse_sftp_section(section(**{name: "hunter2"}))
    assert str(caught.value) == f"the secret's sftp section has an unknown field {name[:40]!r}"
