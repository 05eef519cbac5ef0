"""A `file` / `error-file` value the download policy refuses is refused before any request, with a reason the
outcome's file entry carries (`reason`) and the host the value named, which the warning log shows so an operator
can tell a host of theirs missing from FILE_HOSTS from one that must never be reached."""

from __future__ import annotations

import pytest
import requests

from profile_poller.adapters.campaign_api import CampaignApi
from profile_poller.core.ports import FileRefused

BASE = "https://tenant.example"
NOT_PLAIN = "file path is not a plain URL or API path"
DOTS = "file path contains '.' or '..' segments"
CREDENTIALS = "file URL carries credentials"


@pytest.fixture
def api() -> CampaignApi:
    return CampaignApi(requests.Session(), file_hosts=frozenset({"files.example"}))


@pytest.mark.parametrize(
    ("value", "reason", "host"),
    [
        ("ftp://files.example/out/a.csv", "file URL scheme 'ftp' is not allowed", "files.example"),
        ("http://files.example/out/a.csv", "file URL scheme 'http' is not allowed", "files.example"),
        ("https://user:secret@files.example/out/a.csv", CREDENTIALS, None),
        ("https://token@files.example/out/a.csv", CREDENTIALS, None),  # a user name alone is a credential too
        ("https://:secret@files.example/out/a.csv", CREDENTIALS, None),
        ("https://files.example/out/./a.csv", DOTS, None),
        ("/campaignapi/resources/v3/files/../a.csv", DOTS, None),
        (
            "https://evil.example/out/a.csv",
            "file host 'evil.example' is not the API host nor in FILE_HOSTS",
            "evil.example",
        ),
        ("https:///out/a.csv", "file host '' is not the API host nor in FILE_HOSTS", ""),
        ("//evil.example/out/a.csv", NOT_PLAIN, None),
        ("out\\a.csv", NOT_PLAIN, None),
    ],
)
def test_a_refused_value_says_why_and_names_its_host(
    api: CampaignApi, value: str, reason: str, host: str | None
) -> None:
    with pytest.raises(FileRefused) as refused:
        api.resolve(value, BASE)
    assert (str(refused.value), refused.value.host) == (reason, host)
