"""How long a sweep that stays up (STAY_UP_SECONDS, core/cadence.py) waits between passes: until the next request
falls due, never more than LOOK_EVERY_SECONDS, never past its time budget, and not at all when less than a second
is left before its deadline. StayUp alone, on a fake clock and a due index in memory."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from profile_poller.core.cadence import LOOK_EVERY_SECONDS, StayUp
from profile_poller.core.schedule import Due
from tests.fakes import FakeClock


class DueIndex:
    """One shard of the due index: the next checks of the requests in it."""

    def __init__(self, *next_checks: float) -> None:
        self.next_checks = sorted(Decimal(str(at)) for at in next_checks)

    def due_ids(self, shard: str, now: int) -> Iterator[Due]:
        return (Due(f"r{i}", at) for i, at in enumerate(self.next_checks) if at <= now)


def stay_up(clock: FakeClock, index: DueIndex, seconds: float = 55, may_wait: float = 600) -> StayUp:
    return StayUp(seconds, index, shards=lambda: ["0"], clock=clock, sleep=clock.sleep, may_wait=lambda: may_wait)


def test_it_waits_until_the_next_request_falls_due() -> None:
    clock = FakeClock()
    lingering = stay_up(clock, DueIndex(clock() + 2))
    assert lingering.wait_for_next() and clock.slept == 2


def test_it_looks_at_the_due_index_again_after_five_seconds_at_most() -> None:
    clock = FakeClock()
    lingering = stay_up(clock, DueIndex(clock() + 30))
    assert lingering.wait_for_next() and clock.slept == LOOK_EVERY_SECONDS == 5


def test_its_time_budget_cuts_the_wait_short() -> None:
    clock = FakeClock()
    lingering = stay_up(clock, DueIndex(clock() + 4), may_wait=2.5)
    assert lingering.wait_for_next() and clock.slept == 2.5


def test_exactly_one_second_of_room_is_still_waited() -> None:
    clock = FakeClock()
    lingering = stay_up(clock, DueIndex(clock() + 1), may_wait=1.0)
    assert lingering.wait_for_next() and clock.slept == 1


def test_with_less_than_a_second_before_its_deadline_it_ends_though_a_request_falls_due_then() -> None:
    # Given a sweep that may stay up 10 s, 9.5 s in, and a request due at its deadline
    clock = FakeClock()
    lingering = stay_up(clock, DueIndex(clock() + 10), seconds=10)
    clock.advance(9.5)
    # Then it ends without waiting
    assert not lingering.wait_for_next() and clock.slept == 0


def test_without_stay_up_time_there_is_no_second_pass() -> None:
    clock = FakeClock()
    lingering = stay_up(clock, DueIndex(clock() + 2), seconds=0)
    assert not lingering.wait_for_next() and clock.slept == 0
