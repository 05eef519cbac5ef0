"""The API base URL a secret names: https only, unless ALLOW_PLAIN_HTTP (the Bearer key must not travel in clear)."""

from __future__ import annotations

import json

import pytest

from profile_poller.adapters.secrets import parse_secret
from profile_poller.core.ports import CredentialsError

KEY = "k-3f9a-not-for-logs"


def secret(base_url: str) -> str:
    return json.dumps({"api_key": KEY, "base_url": base_url})


@pytest.mark.parametrize(
    ("value", "override"),
    [
        (secret("http://tenant.webexcampaign.io"), ""),  # the secret's own base_url
        (KEY, "http://tenant.webexcampaign.io"),  # API_BASE_URL over a bare key
        (secret("https://tenant.webexcampaign.io"), "http://tenant.webexcampaign.io"),  # the override wins
    ],
    ids=["secret", "override", "override-wins"],
)
def test_a_plain_http_base_url_is_refused_without_naming_the_key(value: str, override: str) -> None:
    # When the secret's base URL is plain http and ALLOW_PLAIN_HTTP is off
    with pytest.raises(CredentialsError, match="https") as refused:
        parse_secret(value, override, allow_plain_http=False)
    # Then it is refused, and the refusal does not carry the key
    assert KEY not in str(refused.value)


def test_a_plain_http_base_url_is_accepted_when_allowed() -> None:
    credentials = parse_secret(secret("http://127.0.0.1:8080/"), "", allow_plain_http=True)
    assert (credentials.api_key, credentials.base_url) == (KEY, "http://127.0.0.1:8080")


def test_an_https_base_url_is_accepted_without_the_allowance() -> None:
    credentials = parse_secret(secret("https://tenant.webexcampaign.io"), "", allow_plain_http=False)
    assert credentials.base_url == "https://tenant.webexcampaign.io"
