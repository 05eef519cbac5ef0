"""Which due-index shards a sweep reads: the live ones, then the ones a lowered DUE_SHARDS left behind.

Producers file a request under `crc32(id) % DUE_SHARDS`. Lowering DUE_SHARDS would strand the pending items
already filed under the dropped shards, so every sweep also reads the shards from DUE_SHARDS up to MAX_DUE_SHARDS
(the template's upper bound) and settles what it finds there like any other due request; the items found are
counted (`orphaned_due`, metric OrphanedDueItems). An empty shard costs one Query.
"""

from __future__ import annotations

from collections.abc import Iterator

MAX_DUE_SHARDS = 16  # the template's DueShards MaxValue; config refuses more


def shards_to_read(due_shards: int) -> Iterator[tuple[str, bool]]:
    """(shard, orphaned) in reading order: the live shards first, then the dropped ones up to MAX_DUE_SHARDS."""
    for shard in range(max(due_shards, MAX_DUE_SHARDS)):
        yield str(shard), shard >= due_shards
