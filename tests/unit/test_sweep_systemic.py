"""Systemic stops: answers that blame no request (401/430, 405), the API key (re-read once on rotation), an
unreadable secret and a failing table end the sweep and leave every request as it was."""

from __future__ import annotations

import pytest

from profile_poller.core.ports import StoreError
from tests.fakes import FakeKeys, json_response
from tests.unit.sweep_world import World, world

__all__ = ["world"]


@pytest.mark.parametrize(("status", "body"), [(401, '{"code": 430}'), (405, '{"code": 405}')])
def test_systemic_answers_stop_the_sweep_and_blame_no_request(world: World, status: int, body: str) -> None:
    world.register("a", "b", "c")
    for rid in "abc":
        world.api.answers[rid] = [json_response(status, body)]
    summary = world.sweep(concurrency=1)
    assert summary["systemic"] == 1 and "systemic" in summary["stopped"]
    assert all(i["status"] == "PENDING" and "lease_owner" not in i for i in world.store.items.values())
    assert all(i.get("transient_errors", 0) == 0 and i.get("attempts", 0) == 0 for i in world.store.items.values())
    assert world.notifier.published == []


def test_rotated_key_is_reread_once_and_the_request_retried(world: World) -> None:
    # Given the secret now holds key-2 while the cache still says key-1 (the API retired key-1)
    world.keys = FakeKeys("key-1", "key-2")
    world.api.valid_keys = {"key-2"}
    world.register("r1", "r2", "r3")
    for rid in ("r1", "r2", "r3"):
        world.api.answers[rid] = [json_response(200, '{"update-count": 1}')]
    summary = world.sweep(concurrency=1)
    assert summary["completed"] == 3 and summary["systemic"] == 0
    assert world.keys.refreshes == 1
    assert [k for _, k in world.api.asked] == ["key-1", "key-2", "key-2", "key-2"]


def test_a_key_still_rejected_after_the_reread_is_systemic(world: World) -> None:
    world.api.valid_keys = {"other"}
    world.register("r1", "r2")
    summary = world.sweep(concurrency=1)
    assert summary["systemic"] == 1 and world.keys.refreshes == 1
    assert all(i["status"] == "PENDING" and "lease_owner" not in i for i in world.store.items.values())


def test_unreadable_secret_stops_the_sweep_and_keeps_every_request(world: World) -> None:
    world.keys.broken = True
    world.register("r1")
    summary = world.sweep()
    assert summary["systemic"] == 1 and "API key unavailable" in summary["stopped"]
    assert world.store.items["r1"]["status"] == "PENDING" and "lease_owner" not in world.store.items["r1"]


def test_a_failing_table_stops_the_sweep_as_systemic(world: World) -> None:
    world.register(*[f"r{i}" for i in range(5)])

    def table_down(rid: str) -> None:
        raise StoreError("claiming failed: ProvisionedThroughputExceededException")

    world.store.before_claim = table_down
    summary = world.sweep(concurrency=1)
    assert summary["systemic"] >= 1 and "table could not be written" in summary["stopped"]
    assert summary["claimed"] == 0 and world.api.asked == []
