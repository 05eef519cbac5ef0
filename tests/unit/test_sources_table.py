"""Where a file value resolves to, at the edges of the decision table: sftp:// values with credentials, a query, a
fragment or a bad port (refused, naming the host), the SFTP host's own port, bare paths that look like URLs
further in, and base_dir / path rules with unusual names."""

from __future__ import annotations

import pytest

from profile_poller.core.ports import FileRefused, SftpSettings
from profile_poller.core.sources import FileSource, HttpsFile, SftpFile, choose_source, sftp_path, within

HOST = "sftp.tenant.example"
SFTP = SftpSettings(host=HOST, username="u", host_keys=("k",), password="pw", base_dir="/out")
ON_2222 = SftpSettings(host="SFTP.Tenant.Example", username="u", host_keys=("k",), port=2222, base_dir="/out")
AUTO, HTTPS, FORCE_SFTP = FileSource.AUTO, FileSource.HTTPS, FileSource.SFTP


def refusal(value: str, mode: FileSource = AUTO, sftp: SftpSettings | None = SFTP) -> FileRefused:
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
