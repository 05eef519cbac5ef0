"""Packing outcomes into the batches SNS PublishBatch and EventBridge PutEvents take: at most ten entries and
256 KiB in all. An entry that cannot be built, or is over 256 KiB alone, fails by itself; the others go on."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..core.log import logger
from ..core.model import Outcome

BATCH_ENTRIES = 10
BATCH_BYTES = 256 * 1024

Entry = tuple[dict[str, Any], str]  # the request entry, and the event_id it carries


def packed(
    outcomes: Sequence[Outcome],
    build: Callable[[int, Outcome], tuple[dict[str, Any], int]],
    failed: set[str],
    noun: str,
) -> Iterator[list[Entry]]:
    """Batches of (entry, event_id); `build(number, outcome)` gives an entry and its size as the service counts
    it. Outcomes that fail alone are added to `failed` and logged as `noun` ("message", "event")."""
    batch: list[Entry] = []
    total = 0
    for number, outcome in enumerate(outcomes):
        try:
            entry, size = build(number, outcome)
        except Exception:  # any fault building one entry fails that entry only
            logger.exception(f"{noun} could not be built", extra={"event_id": outcome.event_id[:140]})
            failed.add(outcome.event_id)
            continue
        if size > BATCH_BYTES:
            logger.error(f"{noun} over 256 KiB", extra={"event_id": outcome.event_id[:140], "bytes": size})
            failed.add(outcome.event_id)
            continue
        if batch and (len(batch) == BATCH_ENTRIES or total + size > BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append((entry, outcome.event_id))
        total += size
    if batch:
        yield batch
