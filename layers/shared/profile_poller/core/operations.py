"""What the operator commands decide (docs/operations.md), pure: which items a retry may touch, what it writes,
and the stats of a table scan. The adapter (adapters/operations.py) makes the conditional writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .items import PendingRequest
from .model import Status

PREVIOUS_OUTCOMES_KEPT = 5  # newest first; older ones are dropped (the archive keeps their files' old versions)
RETRYABLE = (Status.FAILED, Status.EXPIRED)
TERMINAL = (Status.COMPLETED, Status.FAILED, Status.EXPIRED)


class Refused(Exception):
    """The item is not in a state the command may change (or changed since it was read); nothing was written."""


def status_of(item: Mapping[str, Any]) -> str:
    status = item.get("status")
    return status if isinstance(status, str) else "(none)"


def retry_values(item: Mapping[str, Any], now: int, allowed: Iterable[Status] = RETRYABLE) -> dict[str, Any]:
    """The attributes a retry sets on a FAILED/EXPIRED item; Refused when it is in another state."""
    status = status_of(item)
    names = [s.value for s in allowed]
    if status not in names:
        raise Refused(f"{item.get('request_id')} is {status}; only {' or '.join(names)} requests are retried")
    previous = dict(item.get("outcome") or {"status": status})
    previous["retried_at"] = now
    kept = [previous, *list(item.get("previous_outcomes") or [])][:PREVIOUS_OUTCOMES_KEPT]
    retries = item.get("retries", 0)
    return {
        "retries": (retries if isinstance(retries, int) else 0) + 1,
        "retried_at": now,
        "previous_outcomes": kept,
    }


def republishable(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """The stored outcome to publish again; Refused when the request has not finished."""
    outcome = item.get("outcome")
    if status_of(item) not in [s.value for s in TERMINAL] or not isinstance(outcome, Mapping):
        raise Refused(f"{item.get('request_id')} is {status_of(item)}; only a finished request has an outcome")
    return outcome


@dataclass
class Stats:
    """Counts per status, how many are due, and the oldest pending request, from one scan."""

    now: int
    scanned: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    due_now: int = 0
    oldest_pending_id: str | None = None
    oldest_pending_age: int | None = None

    def add(self, item: Mapping[str, Any]) -> None:
        self.scanned += 1
        # a hand-written item without a status, but in the due index, is taken as pending by the sweep
        status = Status.PENDING.value if "status" not in item and "due_shard" in item else status_of(item)
        self.counts[status] += 1
        if status != Status.PENDING.value:
            return
        next_check = item.get("next_check_at")
        if "due_shard" in item and _due(next_check, self.now):
            self.due_now += 1
        request = PendingRequest.from_item({"request_id": str(item.get("request_id")), **item}, self.now)
        age = self.now - request.age_from
        if self.oldest_pending_age is None or age > self.oldest_pending_age:
            self.oldest_pending_age, self.oldest_pending_id = age, request.request_id

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": {s: self.counts.get(s, 0) for s in [*(x.value for x in Status), *sorted(self.counts)]},
            "due_now": self.due_now,
            "oldest_pending_age_seconds": self.oldest_pending_age,
            "oldest_pending_request_id": self.oldest_pending_id,
            "scanned_items": self.scanned,
        }


def _due(next_check: object, now: int) -> bool:
    """A stored next_check_at (whole seconds, or with the attempt count in its fraction: Decimal, float) at or
    before now."""
    if isinstance(next_check, bool) or not isinstance(next_check, int | float | Decimal):
        return False
    try:
        return bool(next_check <= now)
    except ArithmeticError:  # a NaN Decimal
        return False
