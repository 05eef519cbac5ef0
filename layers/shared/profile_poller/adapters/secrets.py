"""The API key from Secrets Manager through Powertools Parameters (cached; force_fetch after a 498).

Secret value: JSON `{"api_key": "...", "base_url": "https://tenant.webexcampaign.io", "sftp": {...}}` or the bare
key; the optional `sftp` section is read by sftp_secret.py. API_BASE_URL, when set, overrides the secret's
base_url. Errors never carry the value.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from ..core.ports import Credentials, CredentialsError, SftpSettings
from ..core.settings import ConfigError, check_base_url
from .sftp_secret import parse_sftp_section

CACHE_SECONDS = 300


def parse_secret(value: object, base_url_override: str, allow_plain_http: bool) -> Credentials:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str) or not value.strip():
        raise CredentialsError("the secret is empty")
    text = value.strip()
    base_url = ""
    sftp: SftpSettings | None = None
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
            sftp = parse_sftp_section(data["sftp"])
    if any(c.isspace() for c in text) or not text.isprintable():
        raise CredentialsError("the API key contains whitespace or control characters")
    base_url = base_url_override or base_url
    if not base_url:
        raise CredentialsError("no API base URL: set API_BASE_URL or put base_url in the secret")
    try:
        base_url = check_base_url(base_url, allow_plain_http, "API_BASE_URL or the secret's base_url")
    except ConfigError as exc:
        raise CredentialsError(str(exc)) from None
    return Credentials(api_key=text, base_url=base_url, sftp=sftp)


def _unreadable(exc: GetParameterError) -> str:
    """Why the secret could not be read, from the SDK's error code (never its value)."""
    cause = exc.__cause__ or exc.__context__  # Powertools raises inside its `except`, without `from`
    code = ""
    if isinstance(cause, ClientError):
        code = str(cause.response.get("Error", {}).get("Code", ""))
    if code == "ResourceNotFoundException":
        # the stack creates the secret empty: it has no value until the key is put in (docs/deploy.md)
        return "SECRET_ID could not be read (ResourceNotFoundException): no such secret, or it has no value yet"
    return f"SECRET_ID could not be read ({code or (type(cause).__name__ if cause else 'error')})"


class SecretKeySource:
    def __init__(
        self,
        provider: SecretsProvider,
        secret_id: str,
        base_url_override: str = "",
        allow_plain_http: bool = False,
        cache_seconds: int = CACHE_SECONDS,
    ) -> None:
        self._provider = provider
        self._secret_id = secret_id
        self._base_url = base_url_override
        self._allow_http = allow_plain_http
        self._cache_seconds = cache_seconds

    def _load(self, force: bool) -> Credentials:
        try:
            value = self._provider.get(self._secret_id, max_age=self._cache_seconds, force_fetch=force)
        except GetParameterError as exc:
            raise CredentialsError(_unreadable(exc)) from None
        return parse_secret(value, self._base_url, self._allow_http)

    def current(self) -> Credentials:
        return self._load(force=False)

    def refresh(self, rejected: Credentials) -> Credentials:
        return self._load(force=True)
