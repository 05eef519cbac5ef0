"""The Bearer key goes with a file request exactly when the file's origin (scheme, host, port) is the API's, whether
either URL writes the scheme's default port (443, 80) or leaves it out; another port or scheme gets no key. The
requests are caught by a transport adapter in the session: nothing goes on the wire."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from profile_poller.adapters.campaign_api import CampaignApi
from profile_poller.core.ports import Credentials

KEY = "k-origin-only"


class Recorder(BaseAdapter):
    """Answers every request 200 with an empty body, and keeps the requests."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code, response.url, response.request = 200, request.url or "", request
        response.raw = io.BytesIO()
        return response

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("base_url", "file_url", "keyed"),
    [
        ("https://tenant.example", "https://tenant.example:443/f.csv", True),
        ("https://tenant.example:443", "https://tenant.example/f.csv", True),
        ("https://tenant.example", "https://tenant.example:444/f.csv", False),
        ("https://tenant.example:444", "https://tenant.example/f.csv", False),
        ("http://tenant.example", "http://tenant.example:80/f.csv", True),
        ("http://tenant.example:80", "http://tenant.example/f.csv", True),
        ("http://tenant.example", "http://tenant.example:81/f.csv", False),
        ("http://tenant.example:81", "http://tenant.example/f.csv", False),
        ("https://tenant.example", "http://tenant.example:443/f.csv", False),
    ],
)
def test_the_key_goes_to_the_api_origin_only_default_port_written_or_not(
    base_url: str, file_url: str, keyed: bool
) -> None:
    recorder = Recorder()
    session = requests.Session()
    session.mount("https://", recorder)
    session.mount("http://", recorder)
    api = CampaignApi(session, allow_plain_http=True)
    with api.open_file(file_url, Credentials(KEY, base_url)):
        pass
    [request] = recorder.sent
    assert request.url == file_url
    assert request.headers.get("Authorization") == (f"Bearer {KEY}" if keyed else None)
