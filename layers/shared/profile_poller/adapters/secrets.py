"""The API key from Secrets Manager (GetSecretValue, cached for 300 s; re-read bypassing the cache after a 498).

boto3 directly rather than Powertools Parameters: the same cache-with-TTL and forced re-read, without importing
the Parameters utility (AppConfig, SSM and DynamoDB providers) at the handler's cold import.

Secret value: JSON `{"api_key": "...", "base_url": "https://tenant.webexcampaign.io", "sftp": {...}}` or the bare
key; the optional `sftp` section is read by sftp_secret.py (a bad one refuses SFTP files only, the key stays usable).
API_BASE_URL, when set, overrides the secret's base_url. Errors never carry the value.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.log import logger
from ..core.ports import Credentials, CredentialsError, SftpSettings
from ..core.settings import ConfigError, check_base_url

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CACHE_SECONDS = 300


def parse_secret(value: object, base_url_override: str, allow_plain_http: bool) -> Credentials:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str) or not value.strip():
        raise CredentialsError("the secret is empty")
    text = value.strip()
    base_url = ""
    sftp: SftpSettings | None = None
    sftp_refused: str | None = None
    ca_bundle: str | None = None
    if text[0] in '{["':
        try:
            data: Any = json.loads(text)
        except ValueError:
            raise CredentialsError("the secret looks like JSON but does not parse") from None
        if not isinstance(data, dict):
            raise CredentialsError("the secret's JSON must be an object with 'api_key'")
        key = data.get("api_key")
        if not isinstance(key, str) or not key.strip():
            raise CredentialsError("the secret's JSON has no non-empty string 'api_key'")
        text = key.strip()
        raw_base = data.get("base_url", "")
        base_url = raw_base if isinstance(raw_base, str) else ""
        if data.get("sftp") is not None:
            sftp, sftp_refused = _sftp_section(data["sftp"])
        if data.get("ca_bundle") is not None:
            ca_bundle = _ca_bundle(data["ca_bundle"])
    if any(c.isspace() for c in text) or not text.isprintable():
        raise CredentialsError("the API key contains whitespace or control characters")
    base_url = base_url_override or base_url
    if not base_url:
        raise CredentialsError("no API base URL: set API_BASE_URL or put base_url in the secret")
    try:
        base_url = check_base_url(base_url, allow_plain_http, "API_BASE_URL or the secret's base_url")
    except ConfigError as exc:
        raise CredentialsError(str(exc)) from None
    return Credentials(api_key=text, base_url=base_url, sftp=sftp, ca_bundle=ca_bundle, sftp_refused=sftp_refused)


def _sftp_section(section: object) -> tuple[SftpSettings | None, str | None]:
    """The sftp section, or why it is refused: a bad section (a malformed host_keys line, no usable key, a missing
    field) refuses SFTP files only, never the API key (HTTPS files and status calls go on). The reason names the
    field and line number, never a value."""
    from .sftp_secret import parse_sftp_section  # noqa: PLC0415 - lazy: only secrets with an sftp section

    try:
        return parse_sftp_section(section), None
    except CredentialsError as exc:
        logger.error(
            "the secret's sftp section is refused: SFTP files are not archived until it is fixed",
            extra={"reason": str(exc)},
        )
        return None, f"the secret's sftp section is refused: {exc}"


def _ca_bundle(value: object) -> str:
    """PEM certificates the TLS library can load (checked once per secret value, when it is read)."""
    if not isinstance(value, str) or "-----BEGIN CERTIFICATE-----" not in value:
        raise CredentialsError("the secret's ca_bundle must be PEM certificates (-----BEGIN CERTIFICATE-----)")
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=value.strip())
    except (ssl.SSLError, ValueError):
        raise CredentialsError("the secret's ca_bundle holds a certificate that cannot be read") from None
    return value.strip() + "\n"


def _unreadable(exc: ClientError | BotoCoreError) -> str:
    """Why the secret could not be read, from the SDK's error code (never its value)."""
    code = str(exc.response.get("Error", {}).get("Code", "")) if isinstance(exc, ClientError) else ""
    if code == "ResourceNotFoundException":
        # the stack creates the secret empty: it has no value until the key is put in (docs/deploy.md)
        return "SECRET_ID could not be read (ResourceNotFoundException): no such secret, or it has no value yet"
    return f"SECRET_ID could not be read ({code or type(exc).__name__})"


class SecretKeySource:
    """current() answers from the cache while it is younger than `cache_seconds`; refresh() always reads."""

    def __init__(
        self,
        client: SecretsManagerClient,
        secret_id: str,
        base_url_override: str = "",
        allow_plain_http: bool = False,
        cache_seconds: int = CACHE_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._secret_id = secret_id
        self._base_url = base_url_override
        self._allow_http = allow_plain_http
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, str | bytes] | None = None  # (read at, value): the value, never logged
        self._parsed: tuple[str | bytes, Credentials] | None = None  # the last value read, parsed

    def _load(self, force: bool) -> Credentials:
        # one read at a time: the workers of a sweep that start on a cold cache wait for one GetSecretValue
        with self._lock:
            cached = self._cached
            if force or cached is None or self._clock() - cached[0] >= self._cache_seconds:
                cached = self._cached = (self._clock(), self._read())
            value = cached[1]
            if self._parsed is None or self._parsed[0] != value:  # parsed once a value, not at every status call
                self._parsed = (value, parse_secret(value, self._base_url, self._allow_http))
            return self._parsed[1]

    def _read(self) -> str | bytes:
        try:
            answer = self._client.get_secret_value(SecretId=self._secret_id)
        except (ClientError, BotoCoreError) as exc:
            raise CredentialsError(_unreadable(exc)) from None
        return answer["SecretString"] if "SecretString" in answer else answer.get("SecretBinary", b"")

    def current(self) -> Credentials:
        return self._load(force=False)

    def refresh(self, rejected: Credentials) -> Credentials:
        return self._load(force=True)
