"""The rate limiter's wait limit bounds the whole wait (review item 8): `acquire(max_wait)` sets its deadline when it
is called, so a Retry-After that arrives while a worker sleeps cannot make it sleep past the sweep's spare time."""

from __future__ import annotations

import pytest

from profile_poller.core.throttle import AdaptiveLimiter, PauseTooLong
from tests.fakes import FakeClock


def test_a_pause_that_grows_while_a_worker_sleeps_stops_it_at_its_deadline() -> None:
    # Given a tenant paused for 15 s, and another worker's call answered 429 (Retry-After: 15) during each sleep
    clock = FakeClock()
    limiter: AdaptiveLimiter

    def sleep(seconds: float) -> None:
        assert clock.slept <= 20, "slept past the 20 s the worker had"
        clock.sleep(seconds)
        limiter.throttled(15)

    limiter = AdaptiveLimiter(10, clock, sleep, max_pause=1800)
    limiter.throttled(15)
    # When a worker with 20 s to spare asks for a grant
    with pytest.raises(PauseTooLong):
        limiter.acquire(max_wait=20)
    # Then it slept the first 15 s only: a second 15 s would end past its 20 s
    assert clock.slept == 15


def test_waits_within_the_deadline_add_up_to_a_grant() -> None:
    # Given a 5 s pause that grows once by 5 s while the worker sleeps
    clock = FakeClock()
    limiter: AdaptiveLimiter
    grown: list[float] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if not grown:
            grown.append(seconds)
            limiter.throttled(5)

    limiter = AdaptiveLimiter(10, clock, sleep, max_pause=1800)
    limiter.throttled(5)
    # When a worker with 20 s to spare asks
    limiter.acquire(max_wait=20)
    # Then it gets its grant after both sleeps, 10 s in total
    assert clock.slept == 10


def test_a_grant_due_now_is_taken_with_no_time_to_spare() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(10, clock, clock.sleep)
    limiter.acquire(max_wait=0)
    assert clock.slept == 0
