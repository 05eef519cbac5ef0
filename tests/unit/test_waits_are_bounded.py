"""No wait is unbounded (issue 17, item 3): a Retry-After is clamped to BACKOFF_MAX_SECONDS when it arrives and when
it is read back from the asking lease, and no worker sleeps out a pause or past the sweep's time budget."""

from __future__ import annotations

import pytest

from profile_poller.core.schedule import AskingLease
from profile_poller.core.throttle import AdaptiveLimiter, PauseTooLong
from tests.fakes import FakeClock, json_response
from tests.unit.sweep_world import PENDING, World, world

__all__ = ["world"]

YEARS = 86_400_000


def test_a_huge_retry_after_is_stored_on_the_asking_lease_clamped_to_the_backoff_cap(world: World) -> None:
    # Given a request the API answers with 429 and a Retry-After of 1,000 days
    world.register("r1")
    world.api.answers["r1"] = [json_response(429, "{}", {"Retry-After": str(YEARS)}), PENDING]
    start = world.clock()
    world.sweep(backoff_max_seconds=1800)
    # Then the pause handed to the next sweep ends within BACKOFF_MAX_SECONDS
    assert world.store.asking is not None
    assert start < world.store.asking.paused_until <= world.clock() + 1800


def test_the_tenant_is_asked_again_once_the_backoff_cap_has_passed(world: World) -> None:
    world.register("r1", "r2")
    world.api.answers["r1"] = [json_response(429, "{}", {"Retry-After": str(YEARS)}), PENDING]
    world.sweep(backoff_max_seconds=1800, concurrency=1)
    world.clock.advance(1801)
    asked = len(world.api.asked)
    summary = world.sweep(backoff_max_seconds=1800, concurrency=1)
    assert summary["stopped"] is None and len(world.api.asked) > asked


def test_a_pause_of_years_stored_on_the_lease_is_read_back_clamped(world: World) -> None:
    # Given an asking lease stored with a pause of years (by an older version, or by hand)
    world.store.asking = AskingLease("", 0, 10.0, world.clock(), world.clock() + YEARS)
    world.register("r1")
    # When a sweep runs once BACKOFF_MAX_SECONDS have passed
    world.clock.advance(1801)
    summary = world.sweep(backoff_max_seconds=1800)
    # Then it asks
    assert summary["stopped"] is None and [rid for rid, _ in world.api.asked] == ["r1"]


def test_a_worker_does_not_sleep_out_a_pause_it_may_not_wait() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(10, clock, clock.sleep, max_pause=1800)
    limiter.throttled(retry_after=YEARS)
    with pytest.raises(PauseTooLong):
        limiter.acquire(20)
    assert clock.slept == 0
    assert limiter.paused_until <= clock() + 1800


def test_a_worker_never_sleeps_past_the_sweeps_time_budget(world: World) -> None:
    # Given one status call every 10 s, and a Lambda with 5 s to spare beyond its reserve (margin 30 s + 25 s
    # for the call in flight)
    world.register("r1", "r2")
    world.remaining_ms = 60_000
    # When the sweep asks about the first request
    summary = world.sweep(rate_limit_per_second=0.1, concurrency=1)
    # Then the second is given back instead of waiting 10 s for its grant
    assert world.clock.slept <= 5
    assert len(world.api.asked) == 1 and summary["not_started"] == 1
    assert world.status("r2") == "PENDING" and "lease_owner" not in world.store.items["r2"]
