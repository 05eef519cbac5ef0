"""The asking lease, one sweep at a time asking the tenant's API, with a fake clock: taking it, naming another sweep's
lease, renewing it every third of its length, losing it; and handing the rate and a pause over to the next sweep."""

from __future__ import annotations

import pytest

from profile_poller.core.schedule import AskingLease
from profile_poller.core.throttle import ASKING_LEASE_SECONDS, AdaptiveLimiter, TenantGate
from tests.fakes import FakeClock, FakeLeases, FakeStore
from tests.unit.test_throttle import T0


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


def _gate(stored: AskingLease | None = None) -> tuple[FakeClock, RecordingLeases, TenantGate]:
    """The sweep "me" at T0 under a 10/s ceiling, `stored` the asking lease it finds (another sweep's, or one
    handed over)."""
    clock = FakeClock(T0)
    leases = RecordingLeases()
    leases.asking = stored
    return clock, leases, TenantGate(leases, "me", 10, clock, clock.sleep)


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
    _, _, gate = _gate(AskingLease("", 0, 2.0, T0 - 8, 0.0))
    # When the next sweep takes the lease
    assert gate.take() is None
    # Then its rate recovered over those 8 s: 2 + 8 x 10/80
    assert gate.limiter.rate == pytest.approx(3.0)


def test_another_sweeps_lease_is_named_in_the_reason() -> None:
    _, _, gate = _gate(AskingLease("o" * 100, int(T0) + 30))
    assert gate.take() == (
        f"another sweep ({'o' * 80}) holds the asking lease until {int(T0) + 30}: "
        "one sweep at a time asks this tenant's API"
    )


def test_the_asking_lease_is_renewed_every_third_of_its_length_for_another_full_length() -> None:
    # Given a sweep that took the asking lease at T0
    clock, leases, gate = _gate()
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
    _, _, gate = _gate()
    assert gate.take() is None
    gate.throttled(ASKING_LEASE_SECONDS / 3)
    assert gate.keep() is None


def test_a_pause_handed_over_is_stored_again_as_soon_as_it_is_short_enough_to_wait() -> None:
    # Given a lease handed over with a 30 s pause ahead
    clock, leases, gate = _gate(AskingLease("", 0, 10.0, T0, T0 + 30))
    assert gate.take() is None
    # When a call is due now: the pause is too long
    assert gate.keep() == "the API asked for a pause of 30 s (Retry-After); the next sweep waits it out"
    # Then 15 s later (pause 15 s left) the lease is renewed at once, the pause in it
    clock.now = T0 + 15
    assert gate.keep() is None
    assert [(lease.until, lease.paused_until) for lease in leases.kept] == [(int(T0) + 75, T0 + 30)]


def test_a_lease_lost_to_another_sweep_is_named_and_not_given_up_at_the_end() -> None:
    # Given a sweep whose asking lease went to another sweep while it asked
    clock, leases, gate = _gate()
    assert gate.take() is None
    leases.asking = AskingLease("other", int(T0) + 100)
    clock.now = T0 + 20
    # When it renews, then ends
    assert gate.keep() == "the asking lease went to another sweep (not renewed in time)"
    gate.end()
    # Then the end writes nothing: the other sweep's lease stays as it is
    assert leases.ended == []
    assert leases.asking == AskingLease("other", int(T0) + 100)


def test_a_sweep_refused_the_lease_ends_without_writing_it() -> None:
    # Given another sweep's lease, so this sweep was refused it
    _, leases, gate = _gate(AskingLease("other", int(T0) + 30))
    assert gate.take() is not None
    # When it ends: no conditional write (charged, and failing, it would log a lease "not given up")
    gate.end()
    assert leases.ended == []
    assert leases.asking == AskingLease("other", int(T0) + 30)


def test_the_lease_is_given_up_once_however_often_the_sweep_ends() -> None:
    _, leases, gate = _gate()
    assert gate.take() is None
    gate.end()
    gate.end()
    assert [lease.owner for lease in leases.ended] == ["me"]
