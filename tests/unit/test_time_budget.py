"""The time budget's reserve and message, and the timed store passing every argument through."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from profile_poller.core.budget import TimeBudget, api_call_bound
from profile_poller.core.ports import RequestStore
from profile_poller.core.schedule import AskingLease
from tests.fakes import FakeClock, FakeStore
from tests.unit.sweep_world import BASE


def test_a_status_call_is_bounded_by_three_connect_tries_of_at_most_5_s_and_the_read_timeout() -> None:
    assert api_call_bound(replace(BASE, http_timeout_seconds=6.0)) == 3 * 5.0 + 6.0
    assert api_call_bound(replace(BASE, http_timeout_seconds=4.0)) == 3 * 4.0 + 4.0


def test_the_stop_reason_splits_the_reserve_into_the_margin_and_the_work_in_flight() -> None:
    # Given a 30 s margin, 10 s read timeout (a status call takes at most 25 s) and a slowest write of 0.5 s
    clock = FakeClock()
    budget = TimeBudget(replace(BASE, time_margin_seconds=30, http_timeout_seconds=10.0), lambda: 40_000, clock)
    started = clock()
    clock.advance(0.5)
    budget.observe(started)
    # When 40 s are left, under the reserve of 30 + 25 + 12 x 0.5 = 61 s
    # Then the reason names the margin and the 31 s kept for work in flight
    assert budget.short() == (
        "time budget: 40.0 s left, keeping 30 s (TIME_MARGIN_SECONDS) + 31.0 s for work in flight "
        "(slowest AWS call 0.50 s)"
    )


def test_the_stop_reason_names_the_slowest_step_functions_call_once_one_was_made() -> None:
    # Given a slowest write of 0.5 s and a slowest Step Functions call of 1.25 s, and 40 s left
    clock = FakeClock()
    budget = TimeBudget(replace(BASE, time_margin_seconds=30, http_timeout_seconds=10.0), lambda: 40_000, clock)
    budget.observe(clock() - 0.5)
    budget.observe_task(clock() - 1.25)
    # Then the reason says what the work in flight was reserved at: 25 + 12 x 0.5 + 11 x 1.25 = 44.75 s
    assert budget.short() == (
        "time budget: 40.0 s left, keeping 30 s (TIME_MARGIN_SECONDS) + 44.8 s for work in flight "
        "(slowest AWS call 0.50 s, slowest Step Functions call 1.25 s)"
    )


def test_a_budget_already_into_its_reserve_leaves_no_time_to_wait_for_the_rate_limiter() -> None:
    # 40 s left against a reserve of 30 + 25 s: not a second to wait for a grant (the sweep stops instead)
    budget = TimeBudget(replace(BASE, time_margin_seconds=30, http_timeout_seconds=10.0), lambda: 40_000, FakeClock())
    assert budget.spare_seconds() == 0.0
    # and with 55.5 s left, half a second
    budget = TimeBudget(replace(BASE, time_margin_seconds=30, http_timeout_seconds=10.0), lambda: 55_500, FakeClock())
    assert budget.spare_seconds() == 0.5


class Recording(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def release(self, request_id: str, owner: str, next_check_at: Decimal, attempts: int) -> None:
        self.calls.append(("release", (request_id, owner, next_check_at, attempts)))

    def take_asking(self, owner: str, now: int, until: int) -> AskingLease:
        self.calls.append(("take_asking", (owner, now, until)))
        return AskingLease(owner, until)


def test_the_timed_store_hands_the_attempts_and_the_lease_length_through() -> None:
    clock = FakeClock()
    inner = Recording()
    store: RequestStore = TimeBudget(BASE, lambda: 900_000, clock).watch_store(inner)
    store.release("r1", "me", Decimal("1800000030.0003"), 3)
    assert store.take_asking("me", 1_800_000_000, 1_800_000_060) == AskingLease("me", 1_800_000_060)
    assert inner.calls == [
        ("release", ("r1", "me", Decimal("1800000030.0003"), 3)),
        ("take_asking", ("me", 1_800_000_000, 1_800_000_060)),
    ]


def test_a_callback_starts_only_while_the_time_left_past_the_margin_holds_it_and_its_terminal_write() -> None:
    # Given a 30 s margin, a slowest table write of 2 s and a slowest Step Functions call of 1 s
    clock = FakeClock()
    left_ms = 33_000
    budget = TimeBudget(replace(BASE, time_margin_seconds=30), lambda: left_ms, clock)
    budget.observe(clock() - 2)
    budget.observe_task(clock() - 1)
    # Then with exactly 30 + 1 + 2 s left a callback may start, and with 32.5 s it may not
    assert budget.may_call_back()
    left_ms = 32_500
    assert not budget.may_call_back()
