"""The operator's commands: retry, republish, stats (docs/operations.md)."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from ...adapters.operations import DynamoOperations
from ...adapters.sns import SnsNotifier
from ...core.items import outcome_from_map
from ...core.model import Status
from ...core.operations import RETRYABLE, Refused, republishable, retry_values
from ...core.ports import StoreError
from ...core.registration import due_shard_for
from ..config import ConfigError
from .target import Target

__all__ = ["Target", "republish", "retry", "stats"]

OK, NOTHING_DONE = 0, 1


def parse_since(text: str) -> int:
    """`2026-11-27` (midnight UTC) or an ISO date-time (`2026-11-27T05:00:00Z`; no zone means UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--since takes a date (2026-11-27) or an ISO date-time, got {text!r}") from None
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _print(data: Any, as_json: bool, text: str) -> None:
    print(json.dumps(data, sort_keys=True) if as_json else text)


def retry(target: Target, ids: list[str], status: str | None, since: str | None, as_json: bool) -> int:
    ops = DynamoOperations(target.dynamodb, target.table)
    allowed = [Status(status)] if status else list(RETRYABLE)
    if ids:
        items: list[dict[str, Any]] = []
        missing = []
        for request_id in ids:
            found = ops.get(request_id)
            if found is None:
                missing.append(request_id)
            else:
                items.append(found)
    else:
        if status is None:
            raise ConfigError("retry takes request-ids or --status FAILED|EXPIRED")
        missing = []
        items = list(ops.scan(Status(status), parse_since(since) if since else None))
    retried, refused = [], dict.fromkeys(missing, "no such request")
    now = int(time.time())
    for item in items:
        request_id = str(item["request_id"])
        try:
            ops.retry(item, retry_values(item, now, allowed), due_shard_for(request_id, target.shards), now)
        except Refused as exc:
            refused[request_id] = str(exc)
            continue
        retried.append({"request_id": request_id, "from": item["status"], "retry": int(item.get("retries", 0)) + 1})
    for request_id, reason in refused.items():
        shown = f"no request {request_id!r}" if request_id in missing else f"not retried: {reason}"
        print(f"profile-poller: {shown}", file=sys.stderr)
    lines = [f"retried {r['request_id']} ({r['from']} -> PENDING, retry {r['retry']})" for r in retried]
    _print({"retried": retried, "refused": refused}, as_json, "\n".join(lines) or "retried nothing")
    return OK if retried and not refused else NOTHING_DONE


def republish(target: Target, request_id: str, as_json: bool) -> int:
    """Publish the stored outcome again, exactly as built the first time (same body, same event_id)."""
    item = DynamoOperations(target.dynamodb, target.table).get(request_id)
    if item is None:
        print(f"profile-poller: no request {request_id!r}", file=sys.stderr)
        return NOTHING_DONE
    try:
        outcome = outcome_from_map(request_id, republishable(item))
    except Refused as exc:
        print(f"profile-poller: not republished: {exc}", file=sys.stderr)
        return NOTHING_DONE
    if SnsNotifier(target.sns(), target.topic_arn()).publish([outcome]):
        raise StoreError(f"SNS refused the message for {outcome.event_id}")
    _print(
        {"request_id": request_id, "event_id": outcome.event_id, "published": True},
        as_json,
        f"published {outcome.event_id} again",
    )
    return OK


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    days, rest = divmod(max(0, seconds), 86_400)
    return (f"{days}d " if days else "") + f"{rest // 3600}h {rest % 3600 // 60:02d}m"


def stats(target: Target, as_json: bool) -> int:
    print(f"profile-poller: stats scans the whole table {target.table} (fine for an operator)", file=sys.stderr)
    figures = DynamoOperations(target.dynamodb, target.table).stats(int(time.time())).as_dict()
    rows = [f"{status:<10} {count}" for status, count in figures["counts"].items()]
    oldest = figures["oldest_pending_request_id"]
    text = "\n".join(
        [
            *rows,
            f"due now    {figures['due_now']}",
            f"oldest pending {_age(figures['oldest_pending_age_seconds'])}" + (f" ({oldest})" if oldest else ""),
            f"(scanned {figures['scanned_items']} items)",
        ]
    )
    _print(figures, as_json, text)
    return OK
