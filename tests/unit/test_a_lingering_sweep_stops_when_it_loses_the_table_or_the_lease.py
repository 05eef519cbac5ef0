"""A sweep that stays up (STAY_UP_SECONDS) stops as soon as it may not go on: when the due index cannot be read,
before its first pass or between two, or the asking lease cannot be written (systemic: counted once, logged at ERROR,
the reason reported), or when the tenant's asking lease went to another sweep (it neither waits nor claims again)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from profile_poller.core.ports import StoreError
from profile_poller.core.schedule import AskingLease, Due
from tests.fakes import FakeStore
from tests.unit.sweep_world import PENDING, World, world
from tests.unit.test_sweep_failures import stops

__all__ = ["world"]

# staying up 55 s, each request due again 21 s after its check
FAST: dict[str, Any] = {"stay_up_seconds": 55, "backoff_base_seconds": 0, "backoff_max_seconds": 0}


class IndexFailsAfter(FakeStore):
    """The due index's shard 0 fails from its `reads`+1-th Query on (throttled, access withdrawn)."""

    def __init__(self, reads: int) -> None:
        super().__init__()
        self.reads = reads

    def due_ids(self, shard: str, now: int) -> Iterator[Due]:
        self.reads -= shard == "0"
        if self.reads < 0:
            raise StoreError("querying the due index failed: ThrottlingException")
        yield from super().due_ids(shard, now)


class LeaseUnwritable(FakeStore):
    def take_asking(self, owner: str, now: int, until: int) -> AskingLease:
        raise StoreError("taking the asking lease failed: AccessDenied")


def test_a_due_index_that_cannot_be_read_between_passes_stops_the_sweep_as_systemic(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a request due again within the stay-up time, and a due index that fails after the first pass's Query
    store = IndexFailsAfter(reads=2)  # the idle check before the lease, the first pass
    store.items, world.store = world.store.items, store
    world.register("r1")
    world.api.answers["r1"] = [PENDING]
    # When the sweep looks for the next request due
    summary = world.sweep(**FAST)
    # Then it stops once, as systemic, saying why, and asks nothing more
    assert summary["stopped"] == "the table could not be read: querying the due index failed: ThrottlingException"
    assert summary["systemic"] == 1 and len(world.api.asked) == 1
    assert stops(caplog) == [("ERROR", summary["stopped"])]


@pytest.mark.parametrize(
    ("failing", "stopped"),
    [
        (
            lambda: IndexFailsAfter(reads=0),
            "the table could not be read: querying the due index failed: ThrottlingException",
        ),
        (LeaseUnwritable, "the table could not be written: taking the asking lease failed: AccessDenied"),
    ],
    ids=["due-index", "asking-lease"],
)
def test_a_table_failing_before_the_first_pass_stops_the_sweep_as_systemic(
    world: World, caplog: pytest.LogCaptureFixture, failing: Callable[[], FakeStore], stopped: str
) -> None:
    store = failing()
    store.items, world.store = world.store.items, store
    world.register("r1")
    summary = world.sweep(**FAST)
    assert summary["stopped"] == stopped and summary["systemic"] == 1 and world.api.asked == []
    assert stops(caplog) == [("ERROR", stopped)]


def test_a_sweep_whose_asking_lease_went_to_another_stops_without_claiming_again(world: World) -> None:
    # Given a request the API keeps pending, and another sweep taking the tenant's asking lease 25 s into the call
    # (the lease is renewed every 20 s)
    world.register("r1")
    world.api.answers["r1"] = [PENDING]

    def taken_meanwhile(_: str) -> None:
        world.clock.advance(25)
        world.store.asking = AskingLease("other-sweep", int(world.clock()) + 60)

    world.api.before_query = taken_meanwhile
    # When the first pass ends
    summary = world.sweep(**FAST)
    # Then the sweep stops there, saying why: no wait, no second claim
    assert summary["stopped"] == "the asking lease went to another sweep (not renewed in time)"
    assert summary["claimed"] == 1 and len(world.api.asked) == 1
