"""The status-call rate with a fake clock: spacing without bursts, AIMD on 429, Retry-After, the asking lease."""

from __future__ import annotations

from itertools import pairwise

import pytest

from profile_poller.core.ports import Credentials
from profile_poller.core.throttle import ASKING_LEASE_SECONDS, AdaptiveLimiter, TenantGate
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


def test_the_asking_lease_hands_the_rate_to_the_next_sweep_and_expires_when_its_sweep_dies() -> None:
    clock, store = FakeClock(), FakeStore()
    first = TenantGate(store, "sweep-1", 20, clock, clock.sleep)
    assert first.take() is None
    assert "sweep-1" in str(TenantGate(store, "sweep-2", 20, clock, clock.sleep).take())
    first.limiter.accepted()
    first.throttled(None)  # 20 -> 7.5 (3/4 of half the rate: the API accepted less than that)
    first.end()
    second = TenantGate(store, "sweep-2", 20, clock, clock.sleep)
    assert second.take() is None and second.limiter.rate == pytest.approx(7.5)
    # sweep-2 dies holding the lease: sweep-3 is refused until the lease runs out
    assert TenantGate(store, "sweep-3", 20, clock, clock.sleep).take() is not None
    clock.advance(ASKING_LEASE_SECONDS + 1)
    assert TenantGate(store, "sweep-3", 20, clock, clock.sleep).take() is None
    assert second.keep() is not None  # too late to renew: sweep-2, if it wakes, stops


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
