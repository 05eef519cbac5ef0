"""Requests past MAX_AGE_SECONDS end on time while the sweep cannot ask (review item 4).

Expiring needs no status call, only table writes. Two places see to it that a stopped sweep still ends them:

- a claimed request the sweep gives back without asking (it stopped or is stopping: an outage, a systemic answer,
  an unreadable key, a Retry-After, the time budget) is EXPIRED instead when its MAX_AGE_SECONDS has run out
  (Settler.release);
- after a systemic stop (an outage, a bad or unreadable key, a refused file-source login) the sweep walks the due
  index once more (ExpiryDrain): it claims each due request, which reads the item, ends those past MAX_AGE_SECONDS
  as EXPIRED and gives every other back exactly where it was (due at the same `next_check_at`, its attempt not
  counted). No status call; it stops at the sweep's time budget and at the first table failure.

So during an outage with a backlog, or with the secret unreadable for good, every request still ends by
MAX_AGE_SECONDS plus one schedule period, EXPIRED (never FAILED: nobody is charged).
"""

from __future__ import annotations

from collections.abc import Callable

from .items import PendingRequest
from .log import logger
from .outcomes import OutcomeBatch, SweepSummary
from .ports import ItemRejected, LeaseLost, RequestStore, StoreError
from .schedule import Due, check_at
from .settings import Settings
from .settle import Claimed, Settler, TableFailed
from .shards import shards_to_read


class ExpiryDrain:
    """One walk over the due index after a systemic stop: table writes only."""

    def __init__(
        self, settings: Settings, store: RequestStore, owner: str, settler: Settler, batch: OutcomeBatch
    ) -> None:
        self._s = settings
        self._store = store
        self._owner = owner
        self._settler = settler
        self._batch = batch

    def after(self, summary: SweepSummary, now: int, short: Callable[[], str | None]) -> None:
        """After a sweep that stopped as systemic (a sweep stopped by its budget has no time left): walk the due
        index until `short` (the sweep's time budget) gives a reason to stop; the log says how many requests it
        looked at (each claimed, then expired or given back)."""
        if not summary.counts["systemic"]:
            return
        seen = 0
        try:
            for shard, _ in shards_to_read(self._s.due_shards):
                for due in self._store.due_ids(shard, now):
                    if (reason := short()) is not None:
                        logger.warning("expiry drain stops", extra={"reason": reason, "looked_at": seen})
                        return
                    seen += 1
                    self._one(due, now)
        except (StoreError, TableFailed) as exc:  # the table is failing: the next sweep drains again
            logger.error("expiry drain stops: the table failed", extra={"reason": str(exc), "looked_at": seen})

    def _one(self, due: Due, now: int) -> None:
        try:
            until = check_at(now + self._settler.hold, due.attempts)  # the attempt is not counted
            item = self._store.claim(due, self._owner, now, until, due.attempts)
            if item is None:  # taken meanwhile, or no longer due
                return
            request = PendingRequest.from_item(item, now)
            if request.settling is not None:  # decided by a sweep that died: published again, as a sweep does
                self._batch.add(request.settling, request.task_token)
                return
            self._settler.release(Claimed(request, due, until))
        except (StoreError, TableFailed):
            raise
        except (LeaseLost, ItemRejected) as exc:  # this item only: its lease runs out and it is due again
            logger.warning(
                "expiry drain skips a request", extra={"request_id": due.request_id[:128], "reason": str(exc)}
            )
        except Exception:  # liveness: whatever a port raised for one request costs the others nothing
            logger.exception("expiry drain: unexpected error", extra={"request_id": due.request_id[:128]})
