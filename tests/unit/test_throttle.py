"""The status-call rate with a fake clock: spacing without bursts, AIMD on 429 (exact decreases), Retry-After
pauses and waits. The asking lease that hands the rate and a pause to the next sweep: test_asking_lease.py."""

from __future__ import annotations

from itertools import pairwise

import pytest

from profile_poller.core.ports import Credentials
from profile_poller.core.throttle import AdaptiveLimiter
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore
from tests.unit.sweep_world import World


def calls_at(limiter: AdaptiveLimiter, clock: FakeClock, n: int) -> list[float]:
    times = []
    for _ in range(n):
        limiter.acquire()
        times.append(clock())
    return times


def test_grants_are_spaced_and_idle_time_buys_no_burst() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(20, clock, clock.sleep)
    first = calls_at(limiter, clock, 21)
    assert first[-1] - first[0] == pytest.approx(1.0)  # 21 calls span one second: the burst is one call
    clock.advance(100)
    later = calls_at(limiter, clock, 3)
    assert later[1] - later[0] == pytest.approx(0.05) and later[2] - later[1] == pytest.approx(0.05)


def test_a_429_cuts_the_rate_below_what_the_api_accepted_then_it_recovers_additively() -> None:
    # Given 12/s configured and a tenant that accepted 8 calls in the last second
    clock = FakeClock()
    limiter = AdaptiveLimiter(12, clock, clock.sleep)
    for _ in range(8):
        limiter.acquire()
        limiter.accepted()
    # When the next call is throttled
    limiter.throttled(None)
    # Then the rate is 3/4 of what was accepted, a second 429 right after changes nothing (calm period)
    assert limiter.rate == pytest.approx(6.0)
    limiter.throttled(None)
    assert limiter.rate == pytest.approx(6.0)
    # and it climbs back by 12/80 = 0.15 a second, never past the configured 12
    clock.advance(4)
    assert limiter.rate == pytest.approx(6.6)
    clock.advance(1000)
    assert limiter.rate == pytest.approx(12.0)


def test_retry_after_pauses_every_grant() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(10, clock, clock.sleep)
    limiter.acquire()
    limiter.throttled(7.5)
    start = clock()
    limiter.acquire()
    assert clock() - start == pytest.approx(7.5)


class ColdKeys(FakeKeys):
    """The first read goes to Secrets Manager (0.3 s on the clock); later reads come from the cache."""

    def __init__(self, clock: FakeClock, *values: str) -> None:
        super().__init__(*values)
        self.clock, self.cold = clock, True

    def current(self) -> Credentials:
        if self.cold:
            self.cold = False
            self.clock.advance(0.3)
        return super().current()


def test_a_slow_key_read_does_not_bunch_status_calls_and_the_retry_after_a_498_is_paced_too() -> None:
    # Given a sweep at 20/s whose first key read is slow, and a key rotated under it (r0 is answered 498 once)
    clock = FakeClock()
    keys = ColdKeys(clock, "old", "new")
    world = World(clock, FakeStore(), FakeApi(valid_keys={"new"}), keys, FakeArchive(), FakeNotifier())
    world.register(*[f"r{i}" for i in range(30)])
    sent: list[float] = []
    world.api.before_query = lambda request_id: sent.append(clock())
    # When it works through the backlog one call at a time
    world.sweep(rate_limit_per_second=20, concurrency=1)
    # Then every status call (31: the 498 and its retry included) left at least 1/20 s after the one before: the
    # grant is taken after the key is read, right before each call
    assert len(sent) == 31
    gaps = [later - earlier for earlier, later in pairwise(sent)]
    assert min(gaps) >= 0.05 - 1e-6, [round(gap, 3) for gap in gaps]


T0 = 1_800_000_000.0


def test_a_rate_of_zero_is_refused_and_a_rate_below_one_call_a_second_is_kept() -> None:
    clock = FakeClock(T0)
    with pytest.raises(ValueError, match=r"^rate must be positive$"):
        AdaptiveLimiter(0, clock, clock.sleep)
    assert AdaptiveLimiter(0.5, clock, clock.sleep).rate == 0.5


def test_calls_exactly_a_second_old_or_older_do_not_count_as_accepted() -> None:
    # Given 10/s; accepted calls 1.5 s, exactly 1 s and 0.5 s (five of them) before a 429
    clock = FakeClock(T0)
    limiter = AdaptiveLimiter(10, clock, clock.sleep)
    clock.now = T0 - 0.5
    limiter.accepted()
    clock.now = T0
    limiter.accepted()
    clock.now = T0 + 0.5
    for _ in range(5):
        limiter.accepted()
    # When the call at T0 + 1 is throttled
    clock.now = T0 + 1.0
    limiter.throttled(None)
    # Then only the five younger calls count: 3/4 of 5
    assert limiter.rate == pytest.approx(3.75)


def test_a_429_exactly_one_calm_period_later_decreases_again() -> None:
    clock = FakeClock(T0)
    limiter = AdaptiveLimiter(8, clock, clock.sleep)
    limiter.throttled(None)  # no calls accepted: down to half the rate at most, x 3/4 = 3
    assert limiter.rate == pytest.approx(3.0)
    clock.now = T0 + 1.0  # CALM_SECONDS later, to the tick
    limiter.throttled(None)
    assert limiter.rate == pytest.approx(0.75 * (3.0 + 8 / 80) / 2)


def test_after_a_429_the_next_call_waits_until_the_accepted_calls_left_the_second() -> None:
    # Given 10/s and eight calls accepted at T0
    clock = FakeClock(T0)
    limiter = AdaptiveLimiter(10, clock, clock.sleep)
    for _ in range(8):
        limiter.accepted()
    # When a call at T0 + 0.1 is throttled (rate 6/s: a spacing of 1/6 s)
    clock.now = T0 + 0.1
    limiter.throttled(None)
    limiter.acquire()
    # Then the next grant comes when the calls of T0 have left the tenant's second, not 1/6 s later
    assert clock() == pytest.approx(T0 + 1.0, abs=1e-6)


def test_after_a_429_with_nothing_accepted_the_next_call_is_spaced_at_the_lowered_rate() -> None:
    # Given 4/s and nothing accepted; When a call is throttled: the rate becomes 3/4 of 2 = 1.5/s
    clock = FakeClock(T0)
    limiter = AdaptiveLimiter(4, clock, clock.sleep)
    limiter.throttled(None)
    limiter.acquire()
    # Then the next grant is 1/1.5 s later
    assert clock() == pytest.approx(T0 + 1 / 1.5, abs=1e-6)


def test_a_429_does_not_bring_a_later_pending_grant_forward() -> None:
    # Given a handed-over rate at the floor (one call in 20 s): the grant at T0 puts the next at T0 + 20
    clock = FakeClock(T0)
    limiter = AdaptiveLimiter(10, clock, clock.sleep, rate=0.05, rate_at=T0)
    limiter.acquire()
    # When a 429 arrives 8 s later (the decrease alone would space the next call 2.5 s after it)
    clock.now = T0 + 8
    limiter.throttled(None)
    limiter.acquire()
    # Then the next grant is still at T0 + 20
    assert clock() == pytest.approx(T0 + 20, abs=1e-6)


def test_a_retry_after_of_one_second_pauses_the_next_call_for_that_second() -> None:
    clock = FakeClock(T0)
    limiter = AdaptiveLimiter(10, clock, clock.sleep)
    limiter.throttled(1.0)
    assert limiter.paused_until == T0 + 1.0
    limiter.acquire()
    assert clock() == pytest.approx(T0 + 1.0, abs=1e-6)


def test_with_backoff_max_zero_a_retry_after_pauses_nothing() -> None:
    # Given BACKOFF_MAX_SECONDS=0 (the pause cap), and a 429 asking for 30 s
    clock = FakeClock()
    limiter = AdaptiveLimiter(100.0, clock, clock.sleep, max_pause=0)
    limiter.throttled(30)
    # Then the next grant is not paused: it comes at the lowered rate, not a second later
    limiter.acquire(1)
    assert clock.slept < 0.5


def test_a_retry_after_of_zero_stores_no_pause_for_the_next_sweep() -> None:
    # Given a 429 whose Retry-After is 0 ("retry now")
    clock = FakeClock(T0)
    limiter = AdaptiveLimiter(10, clock, clock.sleep)
    limiter.throttled(0)
    # Then the state handed to the next sweep (and shown on the lease item) carries no pause
    assert limiter.state("me", 0).paused_until == 0.0
