"""What a sweep counts, and the batch that publishes outcomes before their terminal transition."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from .callbacks import Callbacks, Delivered, Redelivery, Refused, record_of, undelivered
from .counters import COUNTERS, CounterName
from .doors import as_doors
from .log import logger
from .model import Outcome, Status
from .ports import ItemRejected, LeaseLost, Notifier, RequestStore, StoreError
from .schedule import check_at

SNS_BATCH = 10  # PublishBatch takes at most ten entries

_TERMINAL_COUNTER: dict[Status, CounterName] = {
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
    Status.EXPIRED: "expired",
}


@dataclass
class SweepSummary:
    """Counts per outcome for one sweep; safe to update from the worker threads."""

    counts: Counter[str] = field(default_factory=Counter)
    oldest_pending_age: int | None = None
    stopped: str | None = None
    asking_rate: float | None = None  # the shared status-call rate when the sweep ended (AIMD on 429)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: CounterName, amount: int = 1) -> None:
        with self._lock:
            self.counts[name] += amount

    def note_age(self, age_seconds: int) -> None:
        with self._lock:
            if self.oldest_pending_age is None or age_seconds > self.oldest_pending_age:
                self.oldest_pending_age = age_seconds

    def as_dict(self) -> dict[str, object]:
        result: dict[str, object] = {name: self.counts[name] for name in COUNTERS}
        result["oldest_pending_age_seconds"] = self.oldest_pending_age
        result["stopped"] = self.stopped
        result["asking_rate_per_second"] = self.asking_rate
        return result


class OutcomeBatch:
    """Collects terminal outcomes; publishes up to ten at once, then makes each transition.

    Publishing first makes delivery at-least-once: a crash after the publish leaves the item pending,
    its lease expires, and the same event_id is published again by a later sweep. A door (or the callback) that
    refuses is tried again after a backoff, and only that one (core/doors.py), for DELIVERY_RETRY_SECONDS after
    the decision (core/callbacks.py); then the request finishes anyway, the miss counted and alarmed.
    """

    def __init__(
        self,
        store: RequestStore,
        notifier: Notifier,
        owner: str,
        summary: SweepSummary,
        expires_at: Callable[[int], int],
        *,
        callbacks: Callbacks | None = None,
    ) -> None:
        self._callbacks = callbacks or Callbacks(None, summary.add)
        self.redelivery = Redelivery(time.time)  # the sweep sets its own (clock, backoff)
        self._doors = as_doors(notifier)
        self._tokens: dict[str, str] = {}  # event_id -> task token (issue 19); never logged
        self._store = store
        self._owner = owner
        self._summary = summary
        self._expires_at = expires_at
        self._ready: list[Outcome] = []
        self._lock = threading.Lock()

    def decide(self, outcome: Outcome, next_check_at: Decimal, task_token: str | None = None) -> None:
        """Record the decided outcome on the item (before publishing: a retry publishes exactly this), then queue it.

        An outcome the table refuses for this item (ItemRejected: the item would pass 400 KB) is recorded and sent
        without its error details, the reason saying so; if even that is refused, ItemRejected goes up to the sweep,
        which counts an error for this request alone.
        """
        try:
            self._store.decide(outcome, self._owner, next_check_at)
        except ItemRejected as exc:
            logger.error(
                "the table refused the outcome; recorded without error details",
                extra={"request_id": outcome.request_id[:128], "reason": str(exc)},
            )
            outcome = without_details(outcome, str(exc))
            self._store.decide(outcome, self._owner, next_check_at)
        self.add(outcome, task_token)

    def add(self, outcome: Outcome, task_token: str | None = None) -> None:
        with self._lock:
            if task_token is not None:
                self._tokens[outcome.event_id] = task_token
            self._ready.append(outcome)
            if len(self._ready) < SNS_BATCH:
                return
            batch, self._ready = self._ready, []
        self._settle(batch)

    def flush(self) -> None:
        with self._lock:
            batch, self._ready = self._ready, []
        if batch:
            self._settle(batch)

    def _settle(self, batch: list[Outcome]) -> None:
        taken = self._doors.publish_missing(batch)
        now = self.redelivery.now()
        for outcome in batch:
            rid = outcome.request_id
            try:
                with self._lock:
                    token = self._tokens.pop(outcome.event_id, None)
                doors = taken[outcome.event_id]
                missing = self._doors.names - doors
                callback: dict[str, str] | None = None
                code: str | None = None
                gave_up = self.redelivery.gave_up(outcome, now)
                # issue 19: the waiting task is told once every door took the outcome (it may act on it at once),
                # or when the doors are given up (the request finishes: the outcome is on the item)
                if token is not None and (gave_up or not missing):
                    delivery = self._callbacks.deliver(outcome, token)
                    if isinstance(delivery, Delivered | Refused):
                        callback = record_of(delivery)
                    else:  # throttled, 5xx, access denied: sent again, like a refused entry
                        code = delivery.code
                if missing:
                    self._summary.add("publish_failures")
                if missing or code is not None:
                    if not gave_up:
                        if missing:  # not called back before every door took it: the task hears the poller lives
                            self._callbacks.heartbeat(rid, token)
                        self._again_later(outcome, replace(outcome, doors_taken=doors), now)
                        continue
                    callback = self._give_up(outcome, missing, code, callback)
                self._finish(replace(outcome, doors_taken=frozenset()), callback)
            except LeaseLost:
                self._summary.add("leases_lost")
                logger.warning(
                    "lease lost before the terminal write; published again later is harmless",
                    extra={"request_id": rid[:128]},
                )
                continue
            except (StoreError, ItemRejected) as exc:
                self._summary.add("errors")
                logger.error(
                    "terminal write failed; the lease expires and the request is settled again",
                    extra={"request_id": rid[:128], "reason": str(exc)},
                )
                continue
            except Exception:  # a surprise from the table's client: the same, and the batch's others go on
                self._summary.add("errors")
                logger.exception(
                    "terminal write failed unexpectedly; the lease expires and the request is settled again",
                    extra={"request_id": rid[:128]},
                )
                continue
            self._summary.add(_TERMINAL_COUNTER[outcome.status])
            self._summary.add("files_not_archived", sum(1 for f in outcome.files if not f.archived))
            logger.info(
                "request settled",
                extra={
                    "request_id": rid[:128],
                    "status": outcome.status.value,
                    "update_count": outcome.update_count,
                    "error_count": outcome.error_count,
                    "archived": outcome.archived,
                },
            )

    def _give_up(
        self, outcome: Outcome, missing: frozenset[str], code: str | None, callback: dict[str, str] | None
    ) -> dict[str, str] | None:
        """DELIVERY_RETRY_SECONDS after the decision: the request finishes, what was not delivered counted."""
        rid = outcome.request_id[:128]
        if missing:
            self._summary.add("outcomes_undelivered")
            logger.error(
                "an outcome door kept refusing; the request finishes",
                extra={"request_id": rid, "doors": sorted(missing)},
            )
        if code is None:
            return callback
        self._summary.add("callbacks_undelivered")
        logger.error("the callback was never delivered; the request finishes", extra={"request_id": rid, "error": code})
        return undelivered(code)

    def _again_later(self, before: Outcome, outcome: Outcome, now: int) -> None:
        """Due again after a backoff (unleased, with the decision's attempts); when a door took it meanwhile, the
        settling item records it first (`doors_taken`), so only the others are tried again."""
        later = check_at(now + self.redelivery.delay(outcome, now), outcome.attempts)
        if outcome.doors_taken != before.doors_taken:
            self._store.decide(outcome, self._owner, later)
        self._store.release(outcome.request_id, self._owner, later, outcome.attempts)

    def _finish(self, outcome: Outcome, callback: dict[str, str] | None = None) -> None:
        expires_at = self._expires_at(outcome.finished_at)
        try:
            if callback is None:
                self._store.finish(outcome, self._owner, expires_at)
            else:
                self._store.finish_called_back(outcome, self._owner, expires_at, callback)
        except ItemRejected as exc:  # the same size as `settling`, so rare: keep the item from looping anyway
            logger.error(
                "the table refused the terminal outcome; stored without error details",
                extra={"request_id": outcome.request_id[:128], "reason": str(exc)},
            )
            if callback is None:
                self._store.finish(without_details(outcome, str(exc)), self._owner, expires_at)
            else:
                self._store.finish_called_back(without_details(outcome, str(exc)), self._owner, expires_at, callback)


def without_details(outcome: Outcome, why: str) -> Outcome:
    """The outcome a table refused, minus what can make it large: codes, first rows, the API's description."""
    note = f"the table refused the full outcome, error details dropped ({why[:300]})"
    return replace(
        outcome,
        errors_by_code={},
        first_errors=(),
        api_description=None,
        reason=f"{note}; {outcome.reason}" if outcome.reason else note,
    )
