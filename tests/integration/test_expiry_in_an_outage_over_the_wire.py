"""End to end (moto server + simulator): during an API outage, the requests a stopped sweep never asked are still
ended EXPIRED once past MAX_AGE_SECONDS, with table writes only (review item 4; core/expiry.py)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from local.simulator import Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.entry.producer import register
from tests.conftest import Ticks

IDS = [f"r{i:02d}" for i in range(12)]


def messages(stack: LocalStack) -> dict[str, dict[str, Any]]:
    assert stack.queue_url is not None
    found = [json.loads(m["Message"]) for m in drain(stack, stack.queue_url)]
    return {m["request_id"]: m for m in found}


@pytest.mark.env(CONCURRENCY="1", MAX_AGE_SECONDS="7200")
def test_requests_past_max_age_end_expired_although_the_outage_stopped_the_sweep(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks
) -> None:
    # Given 12 requests submitted 3 hours ago (MAX_AGE 2 h), and an API answering 500 to every call
    for rid in IDS:
        sim.script(rid, *[Step.raw(500, b"<html>down</html>")] * 3)
        register(stack.client("dynamodb"), stack.table, rid, submitted_at=int(time.time()) - 3 * 3600)
    # When the handler runs once
    [summary] = handler_ticks()
    # Then the sweep stopped for the outage after a few calls, and every request was announced EXPIRED
    assert "failing across the board" in (summary["stopped"] or "")
    assert len(sim.calls) < len(IDS)
    found = messages(stack)
    assert sorted(found) == IDS and {m["status"] for m in found.values()} == {"EXPIRED"}
    items = stack.client("dynamodb").scan(TableName=stack.table)["Items"]
    assert {item["status"]["S"] for item in items if item["request_id"]["S"] in IDS} == {"EXPIRED"}
