"""Poison pills end to end (moto server + simulator, issue 12): one bad file, item or message must never stall
the request it belongs to, nor any other."""

from __future__ import annotations

import json
from typing import Any

from local.simulator import FileSpec, Simulator, Step
from local.stack import LocalStack, drain
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
