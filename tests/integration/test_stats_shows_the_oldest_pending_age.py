"""`stats` as text: one line per state, due now, and the oldest pending request's age in days, hours and minutes
(docs/operations.md), read at a fixed clock so the age is exact."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from local.stack import LocalStack
from profile_poller.entry.cli import main
from profile_poller.entry.cli import operator as operator_commands
from tests.integration.by_hand import put

NOW = 1_800_000_000
DAY, HOUR, MINUTE = 86_400, 3_600, 60


@pytest.fixture(autouse=True)
def table(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", stack.table)
    monkeypatch.setattr(operator_commands, "time", SimpleNamespace(time=lambda: NOW))


def stats_text(capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert main(["stats"]) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(
    ("age", "shown"),
    [
        (4 * MINUTE, "0h 04m"),
        (HOUR, "1h 00m"),
        (2 * DAY + 1, "2d 0h 00m"),
        (DAY + 23 * HOUR + 59 * MINUTE + 59, "1d 23h 59m"),
    ],
)
def test_the_oldest_pending_age_reads_in_days_hours_and_minutes(
    stack: LocalStack, capsys: pytest.CaptureFixture[str], age: int, shown: str
) -> None:
    # Given a pending request submitted `age` seconds ago and a younger one
    put(stack, request_id="old", status="PENDING", due_shard="0", next_check_at=NOW + 60, submitted_at=NOW - age)
    put(stack, request_id="young", status="PENDING", due_shard="0", next_check_at=NOW + 60, submitted_at=NOW)
    # When the operator asks for the figures as text
    lines = stats_text(capsys)
    # Then the oldest pending line gives the older one's age and its id
    assert lines == [
        "PENDING    2",
        "COMPLETED  0",
        "FAILED     0",
        "EXPIRED    0",
        "due now    0",
        f"oldest pending {shown} (old)",
        "(scanned 2 items)",
    ]


def test_with_nothing_pending_the_oldest_pending_age_is_a_dash(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    put(stack, request_id="c-1", status="COMPLETED")
    assert "oldest pending -" in stats_text(capsys)
