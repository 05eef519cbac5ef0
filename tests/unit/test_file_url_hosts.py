"""Which hosts a `file` / `error-file` URL may name: the API host or one of FILE_HOSTS, matched exactly; a
backslash never leads a download anywhere else."""

from __future__ import annotations

import pytest
import requests
from urllib3.util import parse_url

from profile_poller.adapters.campaign_api import CampaignApi
from profile_poller.core.ports import FileRefused

BASE = "https://api.example.com"
FILES = frozenset({"files.example.com"})


@pytest.fixture
def api() -> CampaignApi:
    return CampaignApi(requests.Session(), file_hosts=FILES)


@pytest.mark.parametrize(
    "url",
    [
        "https://evilfiles.example.com/out/a.csv",  # ends with a FILE_HOSTS entry
        "https://evil.files.example.com/out/a.csv",  # a subdomain of one
        "https://files.example.com.evil.net/out/a.csv",  # starts with one
        "https://evilapi.example.com/out/a.csv",  # ends with the API host
        "https://api.example.com.evil.net/out/a.csv",  # starts with it
    ],
)
def test_a_look_alike_host_is_refused(api: CampaignApi, url: str) -> None:
    with pytest.raises(FileRefused, match="not the API host nor in FILE_HOSTS"):
        api.resolve(url, BASE)


@pytest.mark.parametrize(
    "url",
    [
        "https://files.example.com/out/a.csv",
        "https://FILES.example.com/out/a.csv",
        "https://api.example.com/out/a.csv",
        "https://API.Example.com/out/a.csv",
    ],
)
def test_the_api_host_or_a_files_host_is_accepted_in_any_case(api: CampaignApi, url: str) -> None:
    assert api.resolve(url, BASE) == url


@pytest.mark.parametrize(
    "value",
    [
        "https://api.example.com\\@evil.example/a.csv",  # urlsplit: user "api.example.com\", host evil.example
        "https://evil.example\\.api.example.com/a.csv",
        "https:\\\\evil.example/a.csv",
        "https:/\\evil.example/a.csv",
        "\\\\evil.example\\a.csv",
        "/\\evil.example/a.csv",
        "out\\..\\..\\a.csv",
    ],
)
def test_a_backslash_never_leads_a_download_off_the_allowed_hosts(api: CampaignApi, value: str) -> None:
    # resolve() refuses any backslash up front. Without that refusal (a mutant of it survives, see
    # docs/reliability.md) an absolute URL is still refused by the credentials or the host check, and a relative
    # one is appended to the API base URL: either way the request can only go to the API host.
    try:
        url = api.resolve(value, BASE)
    except FileRefused:
        return
    assert parse_url(url).host == "api.example.com"  # where urllib3 (under requests) would connect


@pytest.mark.parametrize("base", ["https://api.example.com/GATEWAX", "https://api.example.com/GATEWAX/"])
def test_a_relative_file_value_joins_the_api_base_url_as_written(api: CampaignApi, base: str) -> None:
    # Given an API base URL with a path (a gateway's prefix), ending in any letter, with a slash or without
    # When a file value is a path, Then it is fetched under that prefix, one slash between them
    assert api.resolve("/out/e.csv", base) == "https://api.example.com/GATEWAX/out/e.csv"
