"""Typed settings: the only place that reads the environment.

Every variable is a public contract (DESIGN §6, docs/configuration.md): the template sets them and
operators rely on the names. An invalid value raises ConfigError naming the variable.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..core.cadence import MAX_STAY_UP_SECONDS
from ..core.log import SERVICE
from ..core.settings import MAX_ARCHIVE_BYTES, ConfigError, Settings, check_base_url
from ..core.shards import MAX_DUE_SHARDS
from ..core.sources import FileSource

__all__ = [
    "ConfigError",
    "RegisterSettings",
    "Settings",
    "check_lease",
    "load_due_shards",
    "load_register_settings",
    "load_settings",
    "load_table_name",
]


@dataclass(frozen=True)
class RegisterSettings:
    """The registration function's settings (docs/configuration.md)."""

    table_name: str
    rejected_queue_url: str
    due_shards: int = 1


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is required and is not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):  # inf would park requests forever, nan compares false with everything
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    if not value >= minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"true", "1", "yes"}:
        return True
    if raw in {"false", "0", "no"}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _hosts(env: Mapping[str, str], name: str) -> frozenset[str]:
    hosts = set()
    for part in env.get(name, "").split(","):
        host = part.strip().lower()
        if not host:
            continue
        if any(c in host for c in "/:@ ") or host.startswith("."):
            raise ConfigError(f"{name} takes bare host names without scheme or port, got {host!r}")
        hosts.add(host)
    return frozenset(hosts)


def _file_source(env: Mapping[str, str]) -> FileSource:
    raw = env.get("FILE_SOURCE", "").strip().lower() or FileSource.AUTO.value
    try:
        return FileSource(raw)
    except ValueError:
        raise ConfigError(f"FILE_SOURCE must be auto, https or sftp, got {raw!r}") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    allow_http = _bool(env, "ALLOW_PLAIN_HTTP", False)
    base = env.get("API_BASE_URL", "").strip()
    prefix = env.get("ARCHIVE_PREFIX", "profile-requests").strip().strip("/")
    settings = Settings(
        table_name=_required(env, "TABLE_NAME"),
        bucket_name=_required(env, "BUCKET_NAME"),
        topic_arn=_required(env, "TOPIC_ARN"),
        secret_id=_required(env, "SECRET_ID"),
        archive_prefix=prefix or "profile-requests",
        api_base_url=check_base_url(base, allow_http, "API_BASE_URL") if base else "",
        file_hosts=_hosts(env, "FILE_HOSTS"),
        allow_plain_http=allow_http,
        concurrency=_int(env, "CONCURRENCY", 8, minimum=1),
        rate_limit_per_second=_float(env, "RATE_LIMIT_PER_SECOND", 10.0, minimum=0.01),
        backoff_base_seconds=_float(env, "BACKOFF_BASE_SECONDS", 30.0),
        backoff_max_seconds=_float(env, "BACKOFF_MAX_SECONDS", 1800.0),
        backoff_age_fraction=_float(env, "BACKOFF_AGE_FRACTION", 0.0),
        stay_up_seconds=_float(env, "STAY_UP_SECONDS", 0.0),
        max_age_seconds=_int(env, "MAX_AGE_SECONDS", 172_800, minimum=1),
        max_transient_errors=_int(env, "MAX_TRANSIENT_ERRORS", 10, minimum=1),
        file_not_found_tries=_int(env, "FILE_NOT_FOUND_TRIES", 3, minimum=1),
        lease_seconds=_int(env, "LEASE_SECONDS", 960, minimum=1),
        time_margin_seconds=_int(env, "TIME_MARGIN_SECONDS", 30),
        retention_days=_int(env, "RETENTION_DAYS", 90, minimum=1),
        due_shards=_int(env, "DUE_SHARDS", 1, minimum=1, maximum=MAX_DUE_SHARDS),
        # the checksum stamp rewrites the object with one CopyObject, which takes at most 5 GiB
        max_file_bytes=_int(env, "MAX_FILE_BYTES", MAX_ARCHIVE_BYTES, minimum=1, maximum=MAX_ARCHIVE_BYTES),
        http_timeout_seconds=_float(env, "HTTP_TIMEOUT_SECONDS", 10.0, minimum=0.1),
        file_source=_file_source(env),
        sftp_timeout_seconds=_float(env, "SFTP_TIMEOUT_SECONDS", 10.0, minimum=0.1),
        sftp_transfers=_int(env, "SFTP_TRANSFERS", 4, minimum=1),
        copy_concurrency=_int(env, "COPY_CONCURRENCY", 2, minimum=1),
        copy_min_bytes_per_second=_int(env, "COPY_MIN_BYTES_PER_SECOND", 4 * 1024**2, minimum=1),
        outcome_bus_name=env.get("OUTCOME_BUS_NAME", "").strip(),  # issue 19
    )
    if settings.backoff_age_fraction > 1:
        raise ConfigError(f"BACKOFF_AGE_FRACTION must be at most 1, got {settings.backoff_age_fraction}")
    if settings.stay_up_seconds > MAX_STAY_UP_SECONDS:
        raise ConfigError(f"STAY_UP_SECONDS must be at most {MAX_STAY_UP_SECONDS}, got {settings.stay_up_seconds}")
    if settings.backoff_max_seconds < settings.backoff_base_seconds:
        raise ConfigError("BACKOFF_MAX_SECONDS must not be below BACKOFF_BASE_SECONDS")
    return settings


def check_lease(settings: Settings, remaining_ms: int) -> None:
    """Refuse a LEASE_SECONDS below the function timeout, naming both.

    Lambda does not put the timeout in the environment; the time left as an invocation starts is the timeout (to the
    millisecond), so the handler calls this with it before the first sweep of every invocation. A lease shorter than
    the timeout would expire under a sweep still running, and another sweep would ask the same requests again.
    """
    timeout = math.ceil(remaining_ms / 1000)
    if settings.lease_seconds < timeout:
        raise ConfigError(
            f"LEASE_SECONDS={settings.lease_seconds} is below the function timeout ({timeout} s, the time left as the "
            "invocation started): a claim must outlast the sweep holding it (set LeaseSeconds >= FunctionTimeout)"
        )


def load_table_name(env: Mapping[str, str] | None = None) -> str:
    """For tools that only touch the table (the producer CLI)."""
    return _required(os.environ if env is None else env, "TABLE_NAME")


def load_due_shards(env: Mapping[str, str] | None = None) -> int:
    return _int(os.environ if env is None else env, "DUE_SHARDS", 1, minimum=1, maximum=MAX_DUE_SHARDS)


def load_register_settings(env: Mapping[str, str] | None = None) -> RegisterSettings:
    env = os.environ if env is None else env
    return RegisterSettings(
        table_name=_required(env, "TABLE_NAME"),
        rejected_queue_url=_required(env, "REJECTED_QUEUE_URL"),
        due_shards=_int(env, "DUE_SHARDS", 1, minimum=1, maximum=MAX_DUE_SHARDS),
    )


def load_stack_name(env: Mapping[str, str] | None = None) -> str:
    """The stack's name (`STACK_NAME`, set by the template), the metrics' `stack` dimension; the service's name when
    unset (local runs), so the functions always emit one dimension set."""
    return (os.environ if env is None else env).get("STACK_NAME", "").strip() or SERVICE
