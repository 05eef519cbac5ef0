"""A status call the rate limiter grants too far off is not waited for: the sweep stops, and its reason says how far
off the call is and how long the sweep could still wait; "time budget" when the Lambda's time, not the longest
pause (LONGEST_PAUSE, 20 s), was what cut the wait. A grant exactly at the end of the allowed wait is waited for."""

from __future__ import annotations

import pytest

from profile_poller.core.budget import api_call_bound
from profile_poller.core.throttle import LONGEST_PAUSE, AdaptiveLimiter, PauseTooLong
from tests.fakes import FakeClock
from tests.unit.sweep_world import PENDING, World, world

__all__ = ["world"]


def test_a_grant_exactly_at_the_end_of_the_allowed_wait_is_waited_for() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(1.0, clock, clock.sleep, paused_until=clock() + 20)
    limiter.acquire(20)
    assert clock.slept == 20


def test_a_grant_further_off_says_how_far_and_how_long_the_sweep_would_still_wait() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(1.0, clock, clock.sleep, paused_until=clock() + 100)
    with pytest.raises(PauseTooLong) as raised:
        limiter.acquire(0)
    assert str(raised.value) == "the next status call is 100 s away; the sweep waits 0 s more (of 0 s)"
    assert clock.slept == 0


@pytest.mark.parametrize(
    ("spare", "stopped"),
    [
        (
            10,
            "time budget: the next status call is 100 s away; the sweep waits 10 s more (of 10 s) "
            "before the time kept for work in flight",
        ),
        (LONGEST_PAUSE, "the next status call is 100 s away; the sweep waits 20 s more (of 20 s)"),
    ],
    ids=["budget-shorter", "budget-as-long-as-the-longest-pause"],
)
def test_a_sweep_whose_next_call_is_too_far_off_stops_and_says_what_cut_the_wait(
    world: World, spare: float, stopped: str
) -> None:
    # Given two requests, a tenant allowing one status call every 100 s, and a Lambda with `spare` seconds left
    # beyond what the sweep keeps (TIME_MARGIN_SECONDS and one status call)
    world.register("r1", "r2")
    world.api.answers = {"r1": [PENDING], "r2": [PENDING]}
    settings = world.settings
    world.remaining_ms = int((settings.time_margin_seconds + api_call_bound(settings) + spare) * 1000)
    # When a sweep asks the first and comes to the second
    summary = world.sweep(rate_limit_per_second=0.01, concurrency=1)
    # Then it stops without waiting, saying why
    assert len(world.api.asked) == 1 and summary["stopped"] == stopped
