"""Poison pills end to end (moto server + simulator, issue 12): one bad file, item or message must never stall
the request it belongs to, nor any other."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.simulator import FileSpec, Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.adapters.dynamodb import from_dynamo, to_dynamo
from profile_poller.entry.producer import register
from tests.conftest import Ticks

HEADER = b"Code, Description, Index\r\n"


def messages(stack: LocalStack) -> dict[str, dict[str, Any]]:
    assert stack.queue_url is not None
    return {b["request_id"]: b for b in (json.loads(m["Message"]) for m in drain(stack, stack.queue_url))}


def rows(count: int) -> bytes:
    return b"".join(b'3005, "Invalid Profile ID", %d\r\n' % i for i in range(1, count + 1))


def test_error_files_with_a_stray_quote_at_their_top_are_read_in_one_sweep(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks
) -> None:
    # Given two 2 MiB error files: a Windows path ending in a backslash, and a quote that never closes
    body = rows(60_000)
    path = HEADER + b'7031, "C:\\temp\\", 0\r\n' + body
    unclosed = HEADER + b'7031, "never closed, 0\r\n' + body
    sim.add_file("path.csv", FileSpec(path))
    sim.add_file("unclosed.csv", FileSpec(unclosed))
    sim.script("path", Step.done_update(1, sim.api_file_path("path.csv")))
    sim.script("unclosed", Step.done_update(1, sim.api_file_path("unclosed.csv")))
    for rid in ("path", "unclosed"):
        register(stack.client("dynamodb"), stack.table, rid)
    # When one sweep runs
    [summary] = handler_ticks()
    # Then both complete and are archived whole: the path is counted, the broken quoting reported
    assert summary["completed"] == 2 and summary["errors"] == 0
    sent = messages(stack)
    assert sent["path"]["error_count"] == 60_001 and sent["path"]["first_errors"][0]["description"] == "C:\\temp\\"
    assert sent["unclosed"]["error_count"] is None and "inconsistent quoting" in sent["unclosed"]["reason"]
    for rid, data in (("path", path), ("unclosed", unclosed)):
        key = sent[rid]["files"][0]["s3_uri"].split("/", 3)[3]
        assert stack.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read() == data


def item(stack: LocalStack, rid: str) -> dict[str, Any]:
    raw = stack.client("dynamodb").get_item(TableName=stack.table, Key=to_dynamo({"request_id": rid}))["Item"]
    return from_dynamo(raw)


@pytest.mark.parametrize("retry_after", [86_400_000, "Fri, 01 Jan 2100 00:00:00 GMT"])
def test_a_retry_after_of_years_is_clamped_to_backoff_max_seconds(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, retry_after: int | str
) -> None:
    # Given the API throttles with a Retry-After of 1,000 days (or a date in 2100)
    sim.script("r1", Step("json", 429, {"code": 429}, (("Retry-After", str(retry_after)),)))
    register(stack.client("dynamodb"), stack.table, "r1")
    # When a sweep runs
    [summary] = handler_ticks()
    # Then the request is due again within BACKOFF_MAX_SECONDS (1800), not parked for years
    assert summary["throttled"] == 1
    assert item(stack, "r1")["next_check_at"] <= handler_ticks.clock() - 3600 + 1800 + 1


@pytest.mark.env(LEASE_SECONDS="600")
def test_a_lease_shorter_than_the_function_timeout_stops_the_function_naming_both(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, log_lines: list[str]
) -> None:
    # Given LEASE_SECONDS=600 in a function with the template's 900 s timeout, and a due request
    sim.script("r1", Step.done_update(1, None))
    register(stack.client("dynamodb"), stack.table, "r1")
    # When the function is invoked
    [summary] = handler_ticks()
    # Then no sweep runs, and the error names both values
    assert "LEASE_SECONDS=600" in str(summary["stopped"]) and "function timeout (900 s" in str(summary["stopped"])
    assert sim.status_calls["r1"] == 0 and item(stack, "r1")["status"] == "PENDING"
    assert any("invalid configuration" in line and "LEASE_SECONDS=600" in line for line in log_lines)
