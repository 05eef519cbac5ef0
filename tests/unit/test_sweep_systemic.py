"""Systemic stops: answers that blame no request (401/430, 405), the API key (re-read once on rotation), an
unreadable secret and a failing table end the sweep and leave every request as it was."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from profile_poller.core.ports import StoreError
from profile_poller.core.schedule import Due
from tests.fakes import FakeKeys, FakeStore, json_response
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


class ShardLog(FakeStore):
    """Records the due-index shards read; `down`: the index cannot be read."""

    def __init__(self, down: bool = False) -> None:
        super().__init__()
        self.read: list[str] = []
        self.down = down

    def due_ids(self, shard: str, now: int) -> Iterator[Due]:
        self.read.append(shard)
        if self.down:
            raise StoreError("querying the due index failed: ProvisionedThroughputExceededException")
        yield from super().due_ids(shard, now)


def test_a_due_index_that_cannot_be_read_stops_the_sweep_at_the_first_shard(world: World) -> None:
    world.store = store = ShardLog(down=True)
    world.register("r1")
    summary = world.sweep()
    assert summary["systemic"] == 1 and "table could not be read" in summary["stopped"]
    assert set(store.read) == {"0"}  # no Query of the other shards (the expiry drain stops at "0" too)


def test_a_sweep_that_stops_reads_no_further_shard_of_the_due_index(world: World) -> None:
    # Given six requests in the first shard, one in the next, and the Lambda's time running out at the first call
    world.store = store = ShardLog()
    world.register(*[f"r{i}" for i in range(6)])
    world.register("other-shard", due_shard="1")

    def out_of_time(_: str) -> None:
        world.remaining_ms = 1_000

    world.api.before_query = out_of_time
    # When a sweep asking one request at a time runs
    summary = world.sweep(concurrency=1)
    # Then it stops there and reads no further shard (one Query, not one per shard)
    assert str(summary["stopped"]).startswith("time budget") and store.read == ["0"]
    assert "lease_owner" not in world.store.items["other-shard"] and len(world.api.asked) == 1
