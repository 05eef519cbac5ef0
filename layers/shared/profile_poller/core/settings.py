"""The settings the sweep is given: a typed value object, validated by the entry side (entry/config.py).

No environment access here: entry/config.py is the only reader of the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from .sources import FileSource

MAX_ARCHIVE_BYTES = 5 * 1024**3  # the largest object one CopyObject (the checksum stamp) can rewrite


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable and never echoes a secret."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket_name: str
    topic_arn: str
    secret_id: str
    archive_prefix: str = "profile-requests"
    api_base_url: str = ""
    file_hosts: frozenset[str] = frozenset()
    allow_plain_http: bool = False
    concurrency: int = 8
    rate_limit_per_second: float = 10.0
    backoff_base_seconds: float = 30.0
    backoff_max_seconds: float = 1800.0
    backoff_age_fraction: float = 0.0  # 0: plain exponential backoff (core/pacing.py)
    stay_up_seconds: float = 0.0  # 0: one pass a sweep (core/cadence.py)
    max_age_seconds: int = 172_800
    max_transient_errors: int = 10
    file_not_found_tries: int = 3
    lease_seconds: int = 960
    time_margin_seconds: int = 30
    retention_days: int = 90
    due_shards: int = 1
    max_file_bytes: int = MAX_ARCHIVE_BYTES
    http_timeout_seconds: float = 10.0
    file_source: FileSource = FileSource.AUTO
    sftp_timeout_seconds: float = 10.0
    sftp_transfers: int = 4
    copy_concurrency: int = 2
    copy_min_bytes_per_second: int = 4 * 1024**2
    outcome_bus_name: str = ""  # issue 19: the stack's outcome event bus ("" puts no events: local tools)


def check_base_url(url: str, allow_plain_http: bool, source: str) -> str:
    """Validate an API base URL (from `source`, a variable or secret field name); return it normalised."""
    parts = urlsplit(url.strip())
    allowed = {"https", "http"} if allow_plain_http else {"https"}
    if parts.scheme not in allowed or not parts.hostname:
        need = "an http(s)" if allow_plain_http else "an https"
        raise ConfigError(f"{source} must be {need} URL such as https://tenant.webexcampaign.io")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{source} must not carry credentials, a query or a fragment")
    return url.strip().rstrip("/")
