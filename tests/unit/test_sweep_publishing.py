"""Publishing outcomes: before the terminal transition, in batches of ten, once per request however many sweeps
overlap, and again with the same outcome when a sweep died between publishing and the transition;
a lease lost on one outcome of a batch does not hold back the terminal writes of the others."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.outcomes import OutcomeBatch, SweepSummary
from profile_poller.core.ports import LeaseLost
from tests.fakes import FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE, World, world

__all__ = ["world"]


def test_publish_failure_keeps_the_request_pending_and_it_is_published_later(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"update-count": 5}')]
    world.notifier.fail_next = 1
    summary = world.sweep()
    assert summary["publish_failures"] == 1 and world.status("r1") == "PENDING"
    world.until_due("r1")
    world.sweep()
    assert world.status("r1") == "COMPLETED" and len(world.published("r1")) == 1


def test_outcomes_are_published_in_batches_of_ten(world: World) -> None:
    ids = [f"r{i:02d}" for i in range(23)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [json_response(200, '{"code": 3005}')]
    summary = world.sweep()
    assert summary["failed"] == 23 and world.notifier.calls == 3


def test_overlapping_sweeps_settle_each_request_once(world: World) -> None:
    ids = [f"r{i}" for i in range(30)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [json_response(200, '{"update-count": 1}')]
    world.sweep(owner="a")
    world.sweep(owner="b")
    assert sorted(o.request_id for o in world.notifier.published) == sorted(ids)


def test_a_sweep_that_died_after_publishing_is_finished_with_the_same_outcome(world: World) -> None:
    # Given a request whose outcome was decided and published by a sweep that died before the transition
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"code": 3005, "description": "Invalid Profile ID"}')]

    class DiesAtFinish(FakeStore):
        def finish(self, *args: Any) -> None:
            raise KeyboardInterrupt  # not an Exception: the process is gone

    store = world.store
    world.store = DiesAtFinish()
    world.store.items = store.items
    with pytest.raises(KeyboardInterrupt):
        world.sweep(owner="dies")
    first = world.published("r1")
    assert len(first) == 1 and world.status("r1") == "PENDING"
    # When the lease has run out, the API now answers differently, and another sweep claims it
    world.store = store
    world.clock.advance(BASE.lease_seconds + 1)
    world.api.answers["r1"] = [json_response(200, '{"update-count": 5}')]
    world.sweep(owner="next")
    # Then the same outcome is published again (same event_id) and the request ends as first decided
    again = world.published("r1")
    assert [o.event_id for o in again] == ["r1:FAILED", "r1:FAILED"] and again[0] == again[1]
    assert world.status("r1") == "FAILED" and len(world.api.asked) == 1


OWNER = "owner-1"


class LosesB(FakeStore):
    def finish(self, outcome: Outcome, owner: str, expires_at: int) -> None:
        if outcome.request_id == "b":
            raise LeaseLost("b")
        super().finish(outcome, owner, expires_at)


def test_a_lease_lost_on_one_outcome_does_not_stop_the_terminal_writes_of_the_rest_of_the_batch() -> None:
    # Given a batch of three decided outcomes, the second of which has lost its lease
    store, summary = LosesB(), SweepSummary()
    for rid in "abc":
        store.put_pending(rid, 1_800_000_000, lease_owner=OWNER, lease_until=1_800_000_200)
    batch = OutcomeBatch(store, FakeNotifier(), OWNER, summary, lambda finished: finished + 86_400)
    for rid in "abc":
        batch.decide(Outcome(rid, Status.COMPLETED, Kind.GET, 1_800_000_000, 1_800_000_100, 1), Decimal(1_800_000_400))
    # When it is published and settled
    batch.flush()
    # Then a and c are COMPLETED and b is left to whoever holds its lease
    assert [store.items[rid]["status"] for rid in "abc"] == ["COMPLETED", "PENDING", "COMPLETED"]
    assert summary.counts["leases_lost"] == 1
