"""What the operator commands decide without AWS: which items a retry may take, what it keeps, and the stats."""

from __future__ import annotations

import pytest

from profile_poller.core.model import Status
from profile_poller.core.operations import PREVIOUS_OUTCOMES_KEPT, Refused, Stats, republishable, retry_values


def test_retry_takes_only_the_allowed_terminal_states() -> None:
    failed = {"request_id": "r", "status": "FAILED", "outcome": {"status": "FAILED"}}
    assert retry_values(failed, 100)["retries"] == 1
    with pytest.raises(Refused, match="only EXPIRED"):
        retry_values(failed, 100, [Status.EXPIRED])
    for status in ("PENDING", "COMPLETED", None):
        with pytest.raises(Refused):
            retry_values({"request_id": "r", "status": status}, 100)


def test_retry_keeps_the_newest_outcomes_first_and_bounded() -> None:
    history = [{"status": "FAILED", "n": n} for n in range(PREVIOUS_OUTCOMES_KEPT)]
    item = {
        "request_id": "r",
        "status": "EXPIRED",
        "retries": 7,
        "outcome": {"status": "EXPIRED"},
        "previous_outcomes": history,
    }
    values = retry_values(item, 500)
    assert values["retries"] == 8 and values["retried_at"] == 500
    kept = values["previous_outcomes"]
    assert len(kept) == PREVIOUS_OUTCOMES_KEPT and kept[0] == {"status": "EXPIRED", "retried_at": 500}
    assert kept[1:] == history[:-1]


def test_only_a_finished_request_with_an_outcome_is_republished() -> None:
    assert republishable({"status": "COMPLETED", "outcome": {"status": "COMPLETED"}}) == {"status": "COMPLETED"}
    with pytest.raises(Refused):
        republishable({"request_id": "r", "status": "PENDING", "settling": {"status": "COMPLETED"}})
    with pytest.raises(Refused):
        republishable({"request_id": "r", "status": "FAILED"})


def test_stats_count_a_status_less_indexed_item_as_pending_and_age_from_the_last_retry() -> None:
    stats = Stats(now=10_000)
    stats.add({"request_id": "hand", "due_shard": "0", "next_check_at": 0, "submitted_at": 9_000})
    stats.add(
        {
            "request_id": "retried",
            "status": "PENDING",
            "due_shard": "0",
            "next_check_at": 20_000,
            "submitted_at": 1_000,
            "retried_at": 9_500,
        }
    )
    stats.add({"request_id": "done", "status": "COMPLETED"})
    figures = stats.as_dict()
    assert figures["counts"] == {"PENDING": 2, "COMPLETED": 1, "FAILED": 0, "EXPIRED": 0}
    assert figures["due_now"] == 1
    assert (figures["oldest_pending_request_id"], figures["oldest_pending_age_seconds"]) == ("hand", 1_000)
