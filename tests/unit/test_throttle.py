"""The status-call rate with a fake clock: spacing without bursts, AIMD on 429 (exact decreases), Retry-After
pauses and waits, and the asking lease: renewals, hand-overs of the rate and pause to the next sweep, losing it."""

from __future__ import annotations

from itertools import pairwise

import pytest

from profile_poller.core.ports import Credentials
from profile_poller.core.schedule import AskingLease
from profile_poller.core.throttle import ASKING_LEASE_SECONDS, AdaptiveLimiter, TenantGate
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeLeases, FakeNotifier, FakeStore
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


T0 = 1_800_000_000.0


class RecordingLeases(FakeLeases):
    """FakeLeases that also records every lease written by keep_asking and end_asking."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[AskingLease] = []
        self.ended: list[AskingLease] = []

    def keep_asking(self, lease: AskingLease) -> None:
        self.kept.append(lease)
        super().keep_asking(lease)

    def end_asking(self, lease: AskingLease) -> None:
        self.ended.append(lease)
        super().end_asking(lease)


def test_a_rate_of_zero_is_refused_and_a_rate_below_one_call_a_second_is_kept() -> None:
    clock = FakeClock(T0)
    with pytest.raises(ValueError, match=r"^rate must be positive$"):
        AdaptiveLimiter(0, clock, clock.sleep)
    assert AdaptiveLimiter(0.5, clock, clock.sleep).rate == 0.5


def test_a_fresh_limiter_stores_its_rate_now_and_no_pause() -> None:
    # Given a fresh limiter at 10/s; When its lease state is taken; Then every field is exact
    clock = FakeClock(T0)
    limiter = AdaptiveLimiter(10, clock, clock.sleep)
    assert limiter.state("me", 1_800_000_060) == AskingLease("me", 1_800_000_060, 10.0, T0, 0.0)


def test_a_handed_over_rate_recovers_from_when_it_was_stored() -> None:
    # Given a rate of 2/s stored 8 s ago under a 10/s ceiling
    clock = FakeClock(T0)
    limiter = AdaptiveLimiter(10, clock, clock.sleep, rate=2.0, rate_at=T0 - 8)
    # Then it has already recovered 8 x 10/80 = 1 call a second
    assert limiter.rate == pytest.approx(3.0)


def test_the_next_sweep_takes_the_stored_rate_as_of_when_it_was_stored() -> None:
    # Given a lease given up 8 s ago at 2/s under a 10/s ceiling
    clock = FakeClock(T0)
    leases = FakeLeases()
    leases.asking = AskingLease("", 0, 2.0, T0 - 8, 0.0)
    gate = TenantGate(leases, "me", 10, clock, clock.sleep)
    # When the next sweep takes the lease
    assert gate.take() is None
    # Then its rate recovered over those 8 s: 2 + 8 x 10/80
    assert gate.limiter.rate == pytest.approx(3.0)


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


def test_another_sweeps_lease_is_named_in_the_reason() -> None:
    clock = FakeClock(T0)
    leases = FakeLeases()
    other = "o" * 100
    leases.asking = AskingLease(other, int(T0) + 30)
    gate = TenantGate(leases, "me", 10, clock, clock.sleep)
    assert gate.take() == (
        f"another sweep ({'o' * 80}) holds the asking lease until {int(T0) + 30}: "
        "one sweep at a time asks this tenant's API"
    )


def test_the_asking_lease_is_renewed_every_third_of_its_length_for_another_full_length() -> None:
    # Given a sweep that took the asking lease at T0
    clock = FakeClock(T0)
    leases = RecordingLeases()
    gate = TenantGate(leases, "me", 10, clock, clock.sleep)
    assert gate.take() is None
    # When it asks at T0 + 15 there is nothing to renew yet
    clock.now = T0 + 15
    assert gate.keep() is None
    assert leases.kept == []
    # Then at T0 + 20 (a third of 60 s, to the tick) it is renewed until 60 s later
    clock.now = T0 + ASKING_LEASE_SECONDS / 3
    assert gate.keep() is None
    assert [lease.until for lease in leases.kept] == [int(T0) + 20 + ASKING_LEASE_SECONDS]
    assert leases.asking is not None and leases.asking.until == int(T0) + 80
    # And not again until T0 + 40
    clock.now = T0 + 39.5
    assert gate.keep() is None
    assert len(leases.kept) == 1
    clock.now = T0 + 40
    assert gate.keep() is None
    assert [lease.until for lease in leases.kept] == [int(T0) + 80, int(T0) + 100]


def test_a_retry_after_of_exactly_the_longest_pause_is_waited_out_not_a_stop() -> None:
    clock = FakeClock(T0)
    gate = TenantGate(RecordingLeases(), "me", 10, clock, clock.sleep)
    assert gate.take() is None
    gate.throttled(ASKING_LEASE_SECONDS / 3)
    assert gate.keep() is None


def test_a_pause_handed_over_is_stored_again_as_soon_as_it_is_short_enough_to_wait() -> None:
    # Given a lease handed over with a 30 s pause ahead
    clock = FakeClock(T0)
    leases = RecordingLeases()
    leases.asking = AskingLease("", 0, 10.0, T0, T0 + 30)
    gate = TenantGate(leases, "me", 10, clock, clock.sleep)
    assert gate.take() is None
    # When a call is due now: the pause is too long
    assert gate.keep() == "the API asked for a pause of 30 s (Retry-After); the next sweep waits it out"
    # Then 15 s later (pause 15 s left) the lease is renewed at once, the pause in it
    clock.now = T0 + 15
    assert gate.keep() is None
    assert [(lease.until, lease.paused_until) for lease in leases.kept] == [(int(T0) + 75, T0 + 30)]


def test_a_lease_lost_to_another_sweep_is_named_and_not_given_up_at_the_end() -> None:
    # Given a sweep whose asking lease went to another sweep while it asked
    clock = FakeClock(T0)
    leases = RecordingLeases()
    gate = TenantGate(leases, "me", 10, clock, clock.sleep)
    assert gate.take() is None
    leases.asking = AskingLease("other", int(T0) + 100)
    clock.now = T0 + 20
    # When it renews, then ends
    assert gate.keep() == "the asking lease went to another sweep (not renewed in time)"
    gate.end()
    # Then the end writes nothing: the other sweep's lease stays as it is
    assert leases.ended == []
    assert leases.asking == AskingLease("other", int(T0) + 100)
