"""No head-of-line blocking (issue 17, item 5): a request whose answer stops the sweep as systemic is given back
behind the requests already due, not at its old next_check_at, so the next sweep serves everyone else first."""

from __future__ import annotations

from tests.fakes import json_response
from tests.unit.sweep_world import World, world

__all__ = ["world"]

DENIED = json_response(403, '{"code": "430", "description": "Authorization failed"}')  # systemic


def test_one_request_stopping_every_sweep_does_not_stall_the_others(world: World) -> None:
    # Given a request first in the due index whose every answer stops the sweep, and 41 others that are finished
    world.register("a-first")
    world.api.answers["a-first"] = [DENIED]
    others = [f"r{i:02d}" for i in range(41)]
    world.register(*others)
    for rid in others:
        world.api.answers[rid] = [json_response(200, '{"update-count": 1}')]
    # When 12 sweeps run, one at a time asking
    for _ in range(12):
        world.sweep(concurrency=1)
        world.clock.advance(60)
    # Then every other request is settled, and the blocking one is still pending, its attempts not counted
    assert [rid for rid in others if world.status(rid) != "COMPLETED"] == []
    item = world.store.items["a-first"]
    assert item["status"] == "PENDING" and not item.get("attempts") and "lease_owner" not in item


def test_the_request_is_given_back_due_now_behind_those_already_due(world: World) -> None:
    world.register("a-first")
    world.api.answers["a-first"] = [DENIED]
    summary = world.sweep(concurrency=1)
    assert summary["systemic"] == 1
    assert world.store.items["a-first"]["next_check_at"] == int(world.clock())
