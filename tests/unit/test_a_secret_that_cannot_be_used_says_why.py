"""A secret the poller cannot use is refused with one reason an operator can act on (a CredentialsError: systemic,
alarmed, no request charged): that Secrets Manager would not give it and its error code, or which field is missing,
ill-typed or unreadable; never the key or any other value."""

from __future__ import annotations

import json
import traceback
from typing import Any, cast

import pytest
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from profile_poller.adapters.secrets import SecretKeySource, parse_secret
from profile_poller.core.ports import CredentialsError

KEY = "k-9d2f-never-in-a-message"
BASE = "https://tenant.example"
EMPTY = "the secret is empty"
NO_KEY = "the secret's JSON has no non-empty string 'api_key'"
NOT_AN_OBJECT = "the secret's JSON must be an object with 'api_key'"
SPACES = "the API key contains whitespace or control characters"
NO_BASE = "no API base URL: set API_BASE_URL or put base_url in the secret"
NOT_PEM = "the secret's ca_bundle must be PEM certificates (-----BEGIN CERTIFICATE-----)"
BROKEN_PEM = "the secret's ca_bundle holds a certificate that cannot be read"
PEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"


def secret(**fields: object) -> str:
    return json.dumps({"api_key": KEY, **fields})


@pytest.mark.parametrize(
    ("value", "override", "reason"),
    [
        ("", BASE, EMPTY),
        (" \n\t", BASE, EMPTY),
        (b"", BASE, EMPTY),
        (None, BASE, EMPTY),
        (42, BASE, EMPTY),
        ('{"api_key": "' + KEY, BASE, "the secret looks like JSON but does not parse"),
        (f'["{KEY}"]', BASE, NOT_AN_OBJECT),
        (f'"{KEY}"', BASE, NOT_AN_OBJECT),
        ("{}", BASE, NO_KEY),
        ('{"api_key": 42}', BASE, NO_KEY),
        ('{"api_key": " "}', BASE, NO_KEY),
        ('{"apikey": "' + KEY + '"}', BASE, NO_KEY),
        (f"{KEY} {KEY}", BASE, SPACES),
        (f"{KEY}\x00", BASE, SPACES),
        (secret(api_key=f"{KEY}\x7f"), BASE, SPACES),
        (secret(), "", NO_BASE),
        (KEY, "", NO_BASE),
        (secret(base_url=42), "", NO_BASE),  # an ill-typed base_url is no base_url
        (secret(base_url=""), "", NO_BASE),
        (
            secret(base_url="ftp://tenant.example"),
            "",
            "API_BASE_URL or the secret's base_url must be an https URL such as https://tenant.webexcampaign.io",
        ),
        (secret(ca_bundle=42), BASE, NOT_PEM),
        (secret(ca_bundle=[PEM]), BASE, NOT_PEM),
        (secret(ca_bundle=KEY), BASE, NOT_PEM),
        (secret(ca_bundle=PEM), BASE, BROKEN_PEM),
        (secret(ca_bundle=f"{PEM}\n{KEY}"), BASE, BROKEN_PEM),
    ],
)
def test_a_secret_that_cannot_be_used_is_refused_with_one_reason_that_names_no_value(
    value: object, override: str, reason: str
) -> None:
    with pytest.raises(CredentialsError) as refused:
        parse_secret(value, override, allow_plain_http=False)
    assert str(refused.value) == reason
    assert KEY not in "".join(traceback.format_exception(refused.value))  # nor in an error chained on


@pytest.mark.parametrize(
    ("value", "override"),
    [
        (secret(base_url=BASE).encode(), ""),  # SecretBinary
        (secret(base_url=BASE).encode()[:-1] + b', "note": "caf\xe9"}', ""),  # a byte outside UTF-8 spoils nothing
        (f"  {secret(base_url=BASE)}\n", ""),
        (f"\n{KEY}  ", BASE),  # the bare key, around which blanks do not count
        (secret(api_key=f" {KEY}\n"), BASE),
        (secret(base_url="https://elsewhere.example"), BASE),  # API_BASE_URL wins
        (secret(base_url=f"{BASE}/", ca_bundle=None, sftp=None), ""),  # null optional fields are no fields
    ],
)
def test_a_usable_secret_gives_the_key_and_base_url(value: str | bytes, override: str) -> None:
    credentials = parse_secret(value, override, allow_plain_http=False)
    assert (credentials.api_key, credentials.base_url) == (KEY, BASE)
    assert (credentials.ca_bundle, credentials.sftp, credentials.sftp_refused) == (None, None, None)


class Secrets:
    """GetSecretValue answering `answer`, or raising it."""

    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def refused(code: str | None) -> ClientError:
    error = {"Error": {"Code": code, "Message": KEY}} if code is not None else {}
    return ClientError(cast(Any, error), "GetSecretValue")


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            refused("ResourceNotFoundException"),
            "SECRET_ID could not be read (ResourceNotFoundException): no such secret, or it has no value yet",
        ),
        (refused("AccessDeniedException"), "SECRET_ID could not be read (AccessDeniedException)"),
        (refused(None), "SECRET_ID could not be read (ClientError)"),
        (
            EndpointConnectionError(endpoint_url="https://secretsmanager"),
            "SECRET_ID could not be read (EndpointConnectionError)",
        ),
        (BotoCoreError(), "SECRET_ID could not be read (BotoCoreError)"),
        ({"ARN": "arn", "Name": "s"}, EMPTY),  # a value with neither SecretString nor SecretBinary
        ({"SecretBinary": b"   "}, EMPTY),
    ],
)
def test_a_secret_that_cannot_be_read_says_why_and_names_no_value(
    answer: dict[str, Any] | Exception, reason: str
) -> None:
    keys = SecretKeySource(cast(Any, Secrets(answer)), "s", base_url_override=BASE)
    with pytest.raises(CredentialsError) as caught:
        keys.current()
    assert str(caught.value) == reason
    assert KEY not in "".join(traceback.format_exception(caught.value))


def test_a_binary_secret_is_read() -> None:
    keys = SecretKeySource(cast(Any, Secrets({"SecretBinary": secret().encode()})), "s", base_url_override=BASE)
    assert keys.current().api_key == KEY


@pytest.mark.parametrize("key", ["X9f2-key", "k-plain", "0123-key", "_key", "}key"])
def test_a_bare_key_is_taken_whole_whatever_it_starts_with(key: str) -> None:
    assert parse_secret(key, BASE, allow_plain_http=False).api_key == key


def test_a_bad_sftp_section_refuses_sftp_files_only_and_says_which_field() -> None:
    credentials = parse_secret(secret(sftp={"host": "sftp.tenant.example"}), BASE, allow_plain_http=False)
    assert (credentials.api_key, credentials.base_url, credentials.sftp) == (KEY, BASE, None)
    assert credentials.sftp_refused == (
        "the secret's sftp section is refused: the secret's sftp.username must be a non-empty string without spaces"
    )


def test_the_key_source_takes_the_secrets_base_url_unless_api_base_url_is_set() -> None:
    value = {"SecretString": secret(base_url=BASE)}
    assert SecretKeySource(cast(Any, Secrets(value)), "s").current().base_url == BASE
    overridden = SecretKeySource(cast(Any, Secrets(value)), "s", base_url_override="https://other.example")
    assert overridden.current().base_url == "https://other.example"


def test_the_key_source_refuses_a_plain_http_base_url_unless_allowed() -> None:
    value = {"SecretString": secret(base_url="http://127.0.0.1:8080")}
    with pytest.raises(CredentialsError, match="must be an https URL"):
        SecretKeySource(cast(Any, Secrets(value)), "s").current()
    allowed = SecretKeySource(cast(Any, Secrets(value)), "s", allow_plain_http=True)
    assert allowed.current().base_url == "http://127.0.0.1:8080"
