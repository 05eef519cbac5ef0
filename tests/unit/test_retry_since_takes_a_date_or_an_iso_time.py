"""`profile-poller retry --status ... --since WHEN` (docs/operations.md): a date is that day's midnight UTC, an ISO
date-time is read in its own zone (`Z` or an offset), one without a zone as UTC whatever the machine's zone; anything
else is a usage error that says what --since takes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from profile_poller.entry.cli.operator import parse_since
from profile_poller.entry.config import ConfigError

MIDNIGHT = int(datetime(2026, 11, 27, tzinfo=UTC).timestamp())


@pytest.fixture
def machine_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("machine_in_new_york")
@pytest.mark.parametrize(
    ("since", "epoch"),
    [
        ("2026-11-27", MIDNIGHT),
        (" 2026-11-27 ", MIDNIGHT),
        ("2026-11-27T05:00:00Z", MIDNIGHT + 5 * 3600),
        ("2026-11-27T05:00:00", MIDNIGHT + 5 * 3600),
        ("2026-11-27T07:00:00+02:00", MIDNIGHT + 5 * 3600),
    ],
)
def test_a_date_or_an_iso_time_is_read_as_utc_unless_it_names_its_zone(since: str, epoch: int) -> None:
    assert parse_since(since) == epoch


@pytest.mark.parametrize("since", ["yesterday", "27/11/2026", ""])
def test_anything_else_is_refused_saying_what_since_takes(since: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_since(since)
    assert "--since takes a date" in str(refused.value) and repr(since) in str(refused.value)
