"""Lowering DUE_SHARDS must not orphan the requests already filed in the dropped shards (issue 12, item 9).

Producers spread new requests over `DUE_SHARDS` shards; when an operator lowers the setting, items already in the
shards past the new count are still PENDING. The sweep also reads those shards, up to MAX_DUE_SHARDS, and drains
them, counting what it found there (metric OrphanedDueItems)."""

from __future__ import annotations

import pytest

from local.simulator import Simulator, Step
from local.stack import LocalStack
from profile_poller.core.shards import MAX_DUE_SHARDS
from profile_poller.entry.config import ConfigError, load_settings
from profile_poller.entry.producer import due_shard_for, register
from tests.conftest import Ticks
from tests.integration.test_hostile_input import item


def ids_in_shard(shard: int, shards: int, count: int) -> list[str]:
    found = [f"req-{i}" for i in range(10_000) if due_shard_for(f"req-{i}", shards) == str(shard)]
    return found[:count]


@pytest.mark.env(DUE_SHARDS="2")
def test_items_left_in_dropped_shards_are_drained_and_counted(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks
) -> None:
    # Given requests registered while DUE_SHARDS was 8, some in shards 2..7, and the setting now lowered to 2
    ddb = stack.client("dynamodb")
    live = ids_in_shard(1, 8, 1)  # shard 1 is still read
    orphans = ids_in_shard(7, 8, 2) + ids_in_shard(3, 8, 1)
    for rid in live + orphans:
        register(ddb, stack.table, rid, shards=8)
        sim.script(rid, Step.pending(), Step.done_update(1, None))
    # When the sweep runs: the first answer is "still processing", the second final
    first, second, third = handler_ticks(3)
    # Then every request was asked and finished, the orphans counted each time they were read
    assert first["orphaned_due"] == 3 and first["still_pending"] == 4
    assert second["orphaned_due"] == 3 and second["completed"] == 4
    assert third["orphaned_due"] == 0 and third["due_seen"] == 0
    assert {item(stack, rid)["status"] for rid in live + orphans} == {"COMPLETED"}


def test_due_shards_above_the_probed_bound_is_refused_at_load(stack: LocalStack) -> None:
    env = stack.function_env("https://tenant.example", DUE_SHARDS=str(MAX_DUE_SHARDS + 1))
    with pytest.raises(ConfigError, match=f"DUE_SHARDS must be at most {MAX_DUE_SHARDS}"):
        load_settings(env)
