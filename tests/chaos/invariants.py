"""What the chaos run is judged by: the Report (its one-line summary is what `make chaos` prints) and the check
of what really landed in moto after the run: nothing lost or stuck, one event_id per request, every archived
object byte-exact at its key, each poison input settled as it must, no API key in the logs."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.stack import LocalStack, drain, s3_reader
from profile_poller.adapters.dynamo_items import ASKING_KEY, from_dynamo
from profile_poller.core.bounds import epoch_seconds
from profile_poller.core.model import archive_key
from tests.chaos import poison


@dataclass
class Report:
    requests: int
    lost: int
    stuck: int
    duplicate_event_ids: int
    objects_mismatched: int
    notified: int
    terminal: int
    pending: int
    leaked_secrets: int
    sweeps: int
    crashed: int
    aws_faults: int = 0
    poison_unsettled: int = 0  # a poison input (tests/chaos/poison.py) not settled as it must be
    poison_exercised: int = 0  # poison inputs that reached the code they target
    max_rate_ratio: float = 0.0  # the busiest second of status calls / RATE_LIMIT_PER_SECOND
    throttled_share: float = 0.0  # status calls the tenant's hidden limit answered 429 / all status calls
    outage_failed: int = -1  # requests of the outage phase (tests/chaos/outage.py) that ended FAILED; -1: not run
    details: dict[str, list[str]] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"chaos: requests={self.requests} lost={self.lost} stuck={self.stuck} "
            f"duplicate_event_ids={self.duplicate_event_ids} objects_mismatched={self.objects_mismatched} "
            f"notified={self.notified} terminal={self.terminal} pending={self.pending} aws_faults={self.aws_faults} "
            f"poison_unsettled={self.poison_unsettled} poison_exercised={self.poison_exercised} "
            f"max_rate_ratio={self.max_rate_ratio:.2f} throttled_share={self.throttled_share:.3f} "
            f"outage_failed={self.outage_failed}"
        )


def check(
    stack: LocalStack,
    ids: list[str],
    expected: dict[str, dict[str, bytes]],
    clock: Callable[[], float],
    log_lines: list[str],
    sweeps: int,
    crashed: int,
    poisons: dict[str, str],
    start: int,
    denied: set[str],
    *,
    lease: int,
    keys: tuple[str, ...],
) -> Report:
    """What landed in moto (items, queued SNS messages, S3 objects) and what was logged, against the invariants."""
    ddb = stack.client("dynamodb")
    s3 = s3_reader(stack)  # moto's CRC32 of a multipart object is wrong; the SHA-256 below is the check
    items: dict[str, dict[str, Any]] = {}
    for page in ddb.get_paginator("scan").paginate(TableName=stack.table):
        for raw in page["Items"]:
            item = from_dynamo(raw)
            items[item["request_id"]] = item
    items.pop(ASKING_KEY, None)  # the tenant's asking lease, not a request
    assert stack.queue_url is not None
    messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for envelope in drain(stack, stack.queue_url):
        body = json.loads(envelope["Message"])
        messages[body["request_id"]].append(body)
    details: dict[str, list[str]] = defaultdict(list)
    now = clock()
    for rid in ids:
        found = items.get(rid)
        if found is None or (found["status"] != "PENDING" and not messages.get(rid)):
            details["lost"].append(rid)
            continue
        item = found
        if item["status"] == "PENDING" and (
            "next_check_at" not in item
            or "due_shard" not in item
            or item.get("lease_until", 0) > now + lease  # a lease ends at the next check: an expired one is due
        ):
            details["stuck"].append(rid)
        event_ids = {m["event_id"] for m in messages.get(rid, [])}
        if len(event_ids) > 1 or len({m["status"] for m in messages.get(rid, [])}) > 1:
            details["duplicate_event_ids"].append(rid)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket):
        for obj in page.get("Contents", []):
            rid = obj["Key"].split("/")[-2]
            item = items.get(rid, {})
            role = "error-file" if obj["Key"].endswith("/error-file.csv") else "file"
            want = expected.get(rid, {}).get(role)
            got = s3.get_object(Bucket=stack.bucket, Key=obj["Key"])
            data = got["Body"].read()
            when = epoch_seconds(int(item.get("submitted_at", 0)))  # a time in milliseconds is read as such
            key = archive_key("profile-requests", rid, when, role, f"x/{rid}.csv")
            if (
                item.get("status") != "COMPLETED"
                or want is None
                or data != want
                or obj["Key"] != key
                or got["Metadata"].get("sha256") != hashlib.sha256(data).hexdigest()
            ):
                details["objects_mismatched"].append(obj["Key"])
    for rid, files in expected.items():
        item = items.get(rid, {})
        stored = set(item.get("outcome", {}).get("files", {})) if item.get("status") == "COMPLETED" else set(files)
        if item.get("status") == "COMPLETED" and stored != set(files):
            details["objects_mismatched"].append(f"{rid}: archived {sorted(stored)}, expected {sorted(files)}")
    for rid, kind in sorted(poisons.items()):  # each poison input settled once, as it must
        why = poison.problem(kind, items.get(rid, {}), messages.get(rid, []), start)
        if why is not None:
            details["poison_unsettled"].append(f"{rid} {why}")
        elif poison.exercised(kind, messages.get(rid, [])):
            details["poison_exercised"].append(rid)
        archived = [f.get("archived", True) for f in item.get("outcome", {}).get("files", {}).values()]
        if rid in denied and any(archived):  # a refused file must never count as archived
            details["objects_mismatched"].append(f"{rid}: a denied SFTP file is marked archived")
    emitted = "\n".join(log_lines)
    leaks = sum(emitted.count(k) for k in keys)
    terminal = sum(1 for i in items.values() if i["status"] != "PENDING")
    return Report(
        requests=len(ids),
        lost=len(details["lost"]),
        stuck=len(details["stuck"]),
        duplicate_event_ids=len(details["duplicate_event_ids"]),
        objects_mismatched=len(details["objects_mismatched"]),
        notified=len(messages),
        terminal=terminal,
        pending=len(items) - terminal,
        leaked_secrets=leaks,
        sweeps=sweeps,
        crashed=crashed,
        poison_unsettled=len(details.get("poison_unsettled", [])),
        poison_exercised=len(details.pop("poison_exercised", [])),
        details=dict(details),
    )
