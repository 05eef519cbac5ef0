"""A slow table (seconds of latency on every write, injected over the wire) does not make a sweep overrun its
Lambda time, and whatever it had claimed comes back to due by its lease."""

from __future__ import annotations

import json
import time
from typing import Any

from local.context import LambdaContext, OffsetClock
from local.faultproxy import FaultProxy, Rule, ops
from local.simulator import Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.adapters.dynamo_items import ASKING_KEY, from_dynamo, to_dynamo
from profile_poller.entry.aws import AwsPolicy
from profile_poller.entry.config import load_settings
from profile_poller.entry.runtime import Runtime
from tests.integration.faults import proxy

__all__ = ["proxy"]
LEASE = 900
WRITE_LATENCY = 0.3  # seconds added to every UpdateItem: slow, and still small enough for a test
TIMEOUT_MS = 10_000
# The sweep's reserve counts the work in flight at the slowest write seen; on a loaded machine a write after the
# stop can be slower than any before it, and about twelve run in a row. A 2 s margin absorbs that noise; the
# margin alone is still far below those twelve 0.3 s writes, so a sweep keeping back only the margin overruns.
MARGIN_SECONDS = 2


def _register(stack: LocalStack, count: int, now: int) -> list[str]:
    ids = [f"slow-{i:04d}" for i in range(count)]
    ddb = stack.client("dynamodb")
    for first in range(0, count, 25):
        ddb.batch_write_item(
            RequestItems={
                stack.table: [
                    {
                        "PutRequest": {
                            "Item": to_dynamo(
                                {
                                    "request_id": rid,
                                    "status": "PENDING",
                                    "due_shard": "0",
                                    "next_check_at": now - 10,
                                    "submitted_at": now - 10,
                                    "kind": "update",
                                }
                            )
                        }
                    }
                    for rid in ids[first : first + 25]
                ]
            }
        )
    return ids


def _items(stack: LocalStack) -> dict[str, dict[str, Any]]:
    pages = stack.client("dynamodb").get_paginator("scan").paginate(TableName=stack.table, ConsistentRead=True)
    items = {i["request_id"]: i for page in pages for i in map(from_dynamo, page["Items"])}
    items.pop(ASKING_KEY, None)  # the tenant's asking lease, not a request
    return items


def test_a_slow_table_does_not_overrun_the_lambda_and_claimed_items_come_back(
    stack: LocalStack, sim: Simulator, proxy: FaultProxy
) -> None:
    # Given a backlog far larger than one sweep can settle while every write to the table takes 0.3 s more
    clock = OffsetClock()
    ids = _register(stack, 100, int(clock()))
    for rid in ids:
        sim.script(rid, Step.done_update(1, None))
    env = stack.function_env(
        sim.base_url,
        CONCURRENCY="4",
        TIME_MARGIN_SECONDS=str(MARGIN_SECONDS),
        HTTP_TIMEOUT_SECONDS="0.2",
        RATE_LIMIT_PER_SECOND="1000",
        LEASE_SECONDS=str(LEASE),
    )
    settings = load_settings(env)
    runtime = Runtime.build(settings, clock=clock, aws=AwsPolicy(endpoint_url=proxy.url))
    proxy.set_rules([Rule("dynamodb", "latency", operations=ops("UpdateItem"), seconds=WRITE_LATENCY)])

    # When a sweep runs with 10 s of Lambda time
    context = LambdaContext(timeout_ms=TIMEOUT_MS)
    summary = runtime.sweep("slow-sweep", context.get_remaining_time_in_millis)
    left_ms = context.get_remaining_time_in_millis()

    # Then it stopped claiming for lack of time, and returned before the Lambda would have been killed
    # (how many it settled first depends on how slow the machine makes each write look: claimed > 0 is the floor)
    figures = json.dumps(summary.as_dict())
    assert summary.stopped is not None and summary.stopped.startswith("time budget"), figures
    assert left_ms > 0, f"overran: {figures}"
    assert summary.counts["claimed"] > 0 and summary.counts["completed"] < len(ids), figures

    # And every item it claimed and did not settle is pending, in the due index, its lease ending within LEASE
    now = clock()
    unsettled = {rid: item for rid, item in _items(stack).items() if item["status"] == "PENDING"}
    assert unsettled
    for item in unsettled.values():
        assert item["due_shard"] == "0" and "next_check_at" in item
        assert item.get("lease_until", now) <= now + LEASE

    # When the table is fast again and time passes (past the leases, and past any backoff a status call that timed
    # out on a loaded machine earned), later sweeps with the default settings settle all of them, and every one
    # is announced (at least once: docs/subscribers.md)
    proxy.set_rules([])
    later = Runtime.build(
        load_settings(stack.function_env(sim.base_url, LEASE_SECONDS=str(LEASE))),
        clock=clock,
        aws=AwsPolicy(endpoint_url=proxy.url),
    )
    rounds = []
    for _ in range(4):
        clock.advance(max(LEASE, later.settings.backoff_max_seconds) + 1)
        rounds.append(later.sweep(f"after-{time.monotonic_ns()}", LambdaContext().get_remaining_time_in_millis))
        if all(item["status"] == "COMPLETED" for item in _items(stack).values()):
            break
    left = sorted(rid for rid, item in _items(stack).items() if item["status"] != "COMPLETED")
    assert not left, f"{left[:5]} not settled after {[r.as_dict() for r in rounds]}"
    assert stack.queue_url is not None
    announced = [json.loads(m["Message"])["request_id"] for m in drain(stack, stack.queue_url)]
    assert sorted(set(announced)) == sorted(ids)
