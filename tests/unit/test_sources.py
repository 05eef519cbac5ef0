"""Where files come from: the decision table (choose_source) and its edges (sftp:// values with credentials, a
query, a fragment or a bad port are refused naming the host; the SFTP host's own port; bare paths that look like
URLs further in), SFTP path rules under base_dir with unusual names, and the secret's sftp section."""

from __future__ import annotations

import json
from typing import Any

import pytest

from profile_poller.adapters.secrets import parse_secret
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.ports import CredentialsError, FileRefused, SftpSettings
from profile_poller.core.sources import FileSource, HttpsFile, SftpFile, choose_source, sftp_path, within
from profile_poller.entry.config import ConfigError, load_settings

KEY_LINE = "sftp.tenant.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


SFTP = SftpSettings(host="sftp.tenant.example", username="u", host_keys=(KEY_LINE,), password="pw", base_dir="/out")


AUTO, HTTPS, FORCE_SFTP = FileSource.AUTO, FileSource.HTTPS, FileSource.SFTP


@pytest.mark.parametrize(
    ("value", "mode", "sftp", "expected"),
    [
        ("https://files.example/a.csv", AUTO, SFTP, HttpsFile("https://files.example/a.csv")),
        ("https://files.example/a.csv", FORCE_SFTP, SFTP, HttpsFile("https://files.example/a.csv")),
        ("sftp://sftp.tenant.example/out/a.csv", AUTO, SFTP, SftpFile("sftp.tenant.example", 22, "/out/a.csv")),
        ("sftp://sftp.tenant.example:2222/out/a.csv", HTTPS, SFTP, SftpFile("sftp.tenant.example", 2222, "/out/a.csv")),
        ("/out/a.csv", AUTO, SFTP, SftpFile("sftp.tenant.example", 22, "/out/a.csv")),
        ("a.csv", AUTO, SFTP, SftpFile("sftp.tenant.example", 22, "/out/a.csv")),
        ("/files/a.csv", AUTO, None, HttpsFile("/files/a.csv")),
        ("/files/a.csv", HTTPS, SFTP, HttpsFile("/files/a.csv")),
        ("/out/a.csv", FORCE_SFTP, SFTP, SftpFile("sftp.tenant.example", 22, "/out/a.csv")),
        ("file:///etc/passwd", AUTO, SFTP, HttpsFile("file:///etc/passwd")),  # refused by the HTTPS rules
    ],
)
def test_the_decision_table(value: str, mode: FileSource, sftp: SftpSettings | None, expected: object) -> None:
    assert choose_source(value, mode, sftp) == expected


@pytest.mark.parametrize(
    ("value", "mode", "sftp", "why"),
    [
        ("/out/a.csv", FORCE_SFTP, None, "no 'sftp' section"),
        ("sftp://sftp.tenant.example/out/a.csv", AUTO, None, "no 'sftp' section"),
        ("sftp://169.254.169.254/out/a.csv", AUTO, SFTP, "not the SFTP host nor in FILE_HOSTS"),
        ("sftp://u:pw@sftp.tenant.example/out/a.csv", AUTO, SFTP, "credentials"),
        ("sftp://sftp.tenant.example/etc/passwd", AUTO, SFTP, "outside base_dir"),
        ("../etc/passwd", AUTO, SFTP, "'..'"),
    ],
)
def test_values_that_may_not_be_fetched(value: str, mode: FileSource, sftp: SftpSettings | None, why: str) -> None:
    with pytest.raises(FileRefused, match=why):
        choose_source(value, mode, sftp)


def test_an_sftp_host_listed_in_file_hosts_is_allowed_on_port_22() -> None:
    route = choose_source("sftp://mirror.example/out/a.csv", AUTO, SFTP, frozenset({"mirror.example"}))
    assert route == SftpFile("mirror.example", 22, "/out/a.csv")


@pytest.mark.parametrize(
    ("path", "base", "expected"),
    [("a.csv", "/", "/a.csv"), ("x//y/./a.csv", "/out", "/out/x/y/a.csv"), ("/out", "/out", "/out")],
)
def test_sftp_paths_are_normalised_under_base_dir(path: str, base: str, expected: str) -> None:
    assert sftp_path(path, base) == expected


@pytest.mark.parametrize("path", ["", "/outside/a.csv", "/outbox/../x", "a\\b", "a\x00b", "/outx/a.csv"])
def test_sftp_paths_escaping_or_odd_are_refused(path: str) -> None:
    with pytest.raises(FileRefused):
        sftp_path(path, "/out")


def section(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "host": "sftp.tenant.example",
        "username": "u",
        "password": "hunter2",
        "host_keys": [KEY_LINE],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_good_section_with_defaults() -> None:
    parsed = parse_sftp_section(section(base_dir="/out/"))
    assert parsed.port == 22 and parsed.base_dir == "/out" and parsed.password == "hunter2"
    assert "hunter2" not in repr(parsed) and "u'" not in repr(parsed)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"host": "sftp://x"}, "sftp.host"),
        ({"host": None}, "sftp.host"),
        ({"port": 0}, "sftp.port"),
        ({"port": "22x"}, "sftp.port"),
        ({"username": "a b"}, "sftp.username"),
        ({"password": None}, "exactly one of 'private_key' and 'password'"),
        ({"private_key": "hunter3"}, "exactly one of"),
        ({"password": None, "private_key": "hunter3"}, "sftp.private_key"),
        ({"host_keys": []}, "sftp.host_keys"),
        ({"host_keys": ["hunter2"]}, "sftp.host_keys"),
        ({"host_keys": ["h ssh-ed25519 hunter2!!"]}, "sftp.host_keys"),
        ({"base_dir": "relative/hunter2"}, "sftp.base_dir"),
        ({"base_dir": "/a/../hunter2"}, "sftp.base_dir"),
        ({"privatekey": "hunter2"}, "unknown field 'privatekey'"),
    ],
)
def test_a_bad_section_is_one_line_naming_the_field_without_the_value(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_sftp_section(section(**changes))
    message = str(caught.value)
    assert field in message and "hunter" not in message and "\n" not in message


def test_the_secret_carries_the_section_into_the_credentials() -> None:
    creds = parse_secret(json.dumps({"api_key": "k", "sftp": section()}), "https://t.example", False)
    assert creds.sftp is not None and creds.sftp.host == "sftp.tenant.example"
    assert "hunter2" not in repr(creds) and "hunter2" not in str(creds)
    assert parse_secret('{"api_key": "k"}', "https://t.example", False).sftp is None


def test_file_source_setting() -> None:
    env = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "TOPIC_ARN": "a", "SECRET_ID": "s"}
    assert load_settings(env).file_source is FileSource.AUTO
    assert load_settings({**env, "FILE_SOURCE": "SFTP"}).file_source is FileSource.SFTP
    with pytest.raises(ConfigError, match="FILE_SOURCE must be auto, https or sftp"):
        load_settings({**env, "FILE_SOURCE": "ftp"})


HOST = "sftp.tenant.example"


PLAIN_SFTP = SftpSettings(  # a placeholder host key: no host key is checked here
    host=HOST, username="u", host_keys=("k",), password="pw", base_dir="/out"
)


ON_2222 = SftpSettings(host="SFTP.Tenant.Example", username="u", host_keys=("k",), port=2222, base_dir="/out")


def refusal(value: str, mode: FileSource = AUTO, sftp: SftpSettings | None = PLAIN_SFTP) -> FileRefused:
    with pytest.raises(FileRefused) as raised:
        choose_source(value, mode, sftp)
    return raised.value


@pytest.mark.parametrize(
    "value",
    [
        f"sftp://u@{HOST}/out/a.csv",  # a user name alone
        f"sftp://:pw@{HOST}/out/a.csv",  # a password alone
        f"sftp://{HOST}/out/a.csv?version=2",  # a query alone
        f"sftp://{HOST}/out/a.csv#part",  # a fragment alone
    ],
)
def test_an_sftp_value_with_any_credentials_query_or_fragment_is_refused_naming_its_host(value: str) -> None:
    refused = refusal(value)
    assert str(refused) == "sftp:// file value carries credentials, a query or a fragment"
    assert refused.host == HOST


def test_an_sftp_value_with_an_invalid_port_is_refused_naming_its_host() -> None:
    refused = refusal(f"sftp://{HOST}:99999/out/a.csv")
    assert (str(refused), refused.host) == ("sftp:// file value has an invalid port", HOST)


def test_an_sftp_value_without_an_sftp_section_is_refused_naming_its_host() -> None:
    refused = refusal(f"sftp://{HOST}/out/a.csv", sftp=None)
    assert (str(refused), refused.host) == (f"an sftp:// file on {HOST!r} but the secret has no 'sftp' section", HOST)


def test_an_sftp_value_without_a_host_is_refused_with_an_empty_host() -> None:
    assert refusal("sftp:///out/a.csv", sftp=None).host == ""
    refused = refusal("sftp:///out/a.csv")
    assert (str(refused), refused.host) == ("file host '' is not the SFTP host nor in FILE_HOSTS", "")


def test_an_sftp_value_on_the_sftp_host_without_a_port_uses_the_secrets_port_whatever_the_case() -> None:
    assert choose_source(f"sftp://{HOST}/out/a.csv", AUTO, ON_2222) == SftpFile(HOST, 2222, "/out/a.csv")


def test_forced_sftp_without_an_sftp_section_says_so() -> None:
    assert str(refusal("/out/a.csv", FORCE_SFTP, None)) == "FILE_SOURCE=sftp but the secret has no 'sftp' section"


@pytest.mark.parametrize("value", ["//[x/a:b.csv", "files/[x/a:b.csv", "//[x/a:b/c.csv"])
def test_a_bare_path_is_never_parsed_as_a_url_whatever_follows_its_first_slash(value: str) -> None:
    # a value whose first segment has no ':' is a path: brackets and colons further in do not make it a URL
    assert choose_source(value, AUTO, None) == HttpsFile(value)


@pytest.mark.parametrize(
    ("path", "base", "expected"),
    [
        ("a.csv", "/X", "/X/a.csv"),  # base_dir names made of the characters stripped around it
        ("a.csv", "/XML", "/XML/a.csv"),
        ("X.csv", "/", "/X.csv"),
        ("XX/XX/a.csv", "/out", "/out/XX/XX/a.csv"),
        ("/out/my file.csv", "/out", "/out/my file.csv"),  # a space is not a control character
        ("a.csv", "/out ", "/out /a.csv"),  # nor at the end of base_dir
        ("/out /a.csv", "/out ", "/out /a.csv"),
    ],
)
def test_unusual_but_valid_names_stay_as_they_are(path: str, base: str, expected: str) -> None:
    assert sftp_path(path, base) == expected


def test_an_absolute_path_outside_a_one_letter_base_dir_is_refused() -> None:
    with pytest.raises(FileRefused, match="outside base_dir '/X'"):
        sftp_path("/Y/a.csv", "/X")
    assert not within("/Y/a.csv", "/X")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("a\\b.csv", "SFTP path is empty or holds a backslash or control character"),
        ("out/../a.csv", "SFTP path contains '..' segments"),
    ],
)
def test_odd_sftp_paths_are_refused_with_the_documented_reason(path: str, message: str) -> None:
    with pytest.raises(FileRefused) as raised:
        sftp_path(path, "/out")
    assert str(raised.value) == message
