"""Every bound of a setting is where docs/configuration.md puts it: the lowest and highest values accepted, the first
refused named with the variable and the value; zero is refused where it would stop the poller; the backoff's maximum
is not below its base; and the lease is checked against the function timeout to the millisecond, with the whole
message an operator reads."""

from __future__ import annotations

from dataclasses import replace

import pytest

from profile_poller.core.settings import MAX_ARCHIVE_BYTES
from profile_poller.core.shards import MAX_DUE_SHARDS
from profile_poller.entry.config import (
    ConfigError,
    Settings,
    check_lease,
    load_due_shards,
    load_register_settings,
    load_settings,
)
from tests.unit.test_settings import REQUIRED


@pytest.mark.parametrize(
    ("name", "lowest", "too_low"),
    [
        ("CONCURRENCY", "1", "0"),
        ("RATE_LIMIT_PER_SECOND", "0.01", "0.009"),
        ("MAX_AGE_SECONDS", "1", "0"),
        ("MAX_TRANSIENT_ERRORS", "1", "0"),
        ("LEASE_SECONDS", "1", "0"),
        ("TIME_MARGIN_SECONDS", "0", "-1"),
        ("RETENTION_DAYS", "1", "0"),
        ("DUE_SHARDS", "1", "0"),
        ("MAX_FILE_BYTES", "1", "0"),
        ("HTTP_TIMEOUT_SECONDS", "0.1", "0.09"),
        ("BACKOFF_BASE_SECONDS", "0", "-0.5"),
    ],
)
def test_each_bound_is_exactly_where_documented(name: str, lowest: str, too_low: str) -> None:
    assert str(getattr(load_settings({**REQUIRED, name: lowest}), name.lower())) in (lowest, f"{lowest}.0")
    with pytest.raises(ConfigError, match=rf"^{name} must be at least .*, got {too_low}$"):
        load_settings({**REQUIRED, name: too_low})


def test_backoff_max_may_be_zero_only_with_a_zero_base() -> None:
    s = load_settings({**REQUIRED, "BACKOFF_BASE_SECONDS": "0", "BACKOFF_MAX_SECONDS": "0"})
    assert (s.backoff_base_seconds, s.backoff_max_seconds) == (0, 0)
    with pytest.raises(ConfigError, match=r"BACKOFF_MAX_SECONDS must be at least 0\.0, got -1"):
        load_settings({**REQUIRED, "BACKOFF_BASE_SECONDS": "0", "BACKOFF_MAX_SECONDS": "-1"})


@pytest.mark.parametrize(
    ("name", "lowest", "too_low"),
    [("FILE_NOT_FOUND_TRIES", "1", "0"), ("SFTP_TIMEOUT_SECONDS", "0.1", "0.09"), ("SFTP_TRANSFERS", "1", "0")],
)
def test_the_file_source_bounds(name: str, lowest: str, too_low: str) -> None:
    assert str(getattr(load_settings({**REQUIRED, name: lowest}), name.lower())) in (lowest, f"{lowest}.0")
    with pytest.raises(ConfigError, match=rf"^{name} must be at least"):
        load_settings({**REQUIRED, name: too_low})


@pytest.mark.parametrize(("name", "highest"), [("DUE_SHARDS", MAX_DUE_SHARDS), ("MAX_FILE_BYTES", MAX_ARCHIVE_BYTES)])
def test_the_upper_bounds(name: str, highest: int) -> None:
    assert getattr(load_settings({**REQUIRED, name: str(highest)}), name.lower()) == highest
    with pytest.raises(ConfigError, match=rf"^{name} must be at most {highest}"):
        load_settings({**REQUIRED, name: str(highest + 1)})
    assert load_due_shards({"DUE_SHARDS": str(MAX_DUE_SHARDS)}) == MAX_DUE_SHARDS
    with pytest.raises(ConfigError, match="DUE_SHARDS"):
        load_due_shards({"DUE_SHARDS": str(MAX_DUE_SHARDS + 1)})


@pytest.mark.parametrize("name", ["COPY_CONCURRENCY", "COPY_MIN_BYTES_PER_SECOND"])
def test_the_copy_bounds(name: str) -> None:
    assert getattr(load_settings({**REQUIRED, name: "1"}), name.lower()) == 1
    with pytest.raises(ConfigError, match=rf"^{name} must be at least 1, got 0$"):
        load_settings({**REQUIRED, name: "0"})
    assert load_register_settings({"TABLE_NAME": "t", "REJECTED_QUEUE_URL": "q", "DUE_SHARDS": "1"}).due_shards == 1


SETTINGS = Settings(table_name="t", bucket_name="b", topic_arn="arn:t", secret_id="s")


def test_a_timeout_one_millisecond_past_the_lease_is_refused() -> None:
    # Given a lease of 900 s and an invocation that starts with 900.001 s left (the timeout rounds up to 901 s)
    # When the lease is checked, Then it is refused, and the message tells the operator what to set
    with pytest.raises(ConfigError) as refused:
        check_lease(replace(SETTINGS, lease_seconds=900), remaining_ms=900_001)
    assert str(refused.value) == (
        "LEASE_SECONDS=900 is below the function timeout (901 s, the time left as the invocation started): "
        "a claim must outlast the sweep holding it (set LeaseSeconds >= FunctionTimeout)"
    )


@pytest.mark.parametrize("name", ["DUE_SHARDS", "LEASE_SECONDS", "MAX_TRANSIENT_ERRORS", "RETENTION_DAYS"])
def test_zero_is_refused_where_it_would_stop_the_poller(name: str) -> None:
    # 0 shards polls nothing, a 0 s lease protects nothing, 0 errors fails at once, 0 days deletes at once
    with pytest.raises(ConfigError, match=f"{name} must be at least 1, got 0"):
        load_settings({**REQUIRED, name: "0"})
    assert getattr(load_settings({**REQUIRED, name: "1"}), name.lower()) == 1  # 1 is the smallest allowed


def test_due_shards_for_the_producer_cli_are_checked_too() -> None:
    with pytest.raises(ConfigError, match="DUE_SHARDS"):
        load_due_shards({"DUE_SHARDS": "0"})
    assert load_due_shards({}) == 1 and load_due_shards({"DUE_SHARDS": "4"}) == 4


def test_backoff_max_below_base_is_refused() -> None:
    with pytest.raises(ConfigError, match="BACKOFF_MAX_SECONDS must not be below BACKOFF_BASE_SECONDS"):
        load_settings({**REQUIRED, "BACKOFF_BASE_SECONDS": "60", "BACKOFF_MAX_SECONDS": "59.5"})
    equal = load_settings({**REQUIRED, "BACKOFF_BASE_SECONDS": "60", "BACKOFF_MAX_SECONDS": "60"})
    assert (equal.backoff_base_seconds, equal.backoff_max_seconds) == (60, 60)


def test_the_age_capped_backoff_fraction_goes_up_to_one() -> None:
    assert load_settings({**REQUIRED, "BACKOFF_AGE_FRACTION": "1"}).backoff_age_fraction == 1.0
    with pytest.raises(ConfigError, match=r"^BACKOFF_AGE_FRACTION must be at most 1, got 1\.01$"):
        load_settings({**REQUIRED, "BACKOFF_AGE_FRACTION": "1.01"})


def test_a_sweep_stays_up_at_most_840_seconds() -> None:
    assert load_settings({**REQUIRED, "STAY_UP_SECONDS": "840"}).stay_up_seconds == 840.0
    with pytest.raises(ConfigError, match=r"^STAY_UP_SECONDS must be at most 840, got 840\.5$"):
        load_settings({**REQUIRED, "STAY_UP_SECONDS": "840.5"})
