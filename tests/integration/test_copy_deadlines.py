"""Copies with a deadline and a bound (issue 12, items 4 and 5), end to end over HTTP (the simulator) and the moto
server (through the fault proxy, which counts the S3 calls).

A file served slowly is cut at the copy deadline (the Lambda time left minus TIME_MARGIN_SECONDS): its multipart
upload is aborted, the request rescheduled and counted, and the outcomes already decided are published before the
time runs out. A file too large to copy within one invocation at COPY_MIN_BYTES_PER_SECOND is not archived, with the
reason. At most COPY_CONCURRENCY files are copied at once. The trickle moves an injected clock: no sleeping."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import app
from local.awscalls import Call
from local.context import LambdaContext, OffsetClock
from local.faultproxy import FaultProxy
from local.simulator import FileSpec, Simulator, Step
from local.stack import LocalStack
from profile_poller.entry.aws import AwsPolicy
from profile_poller.entry.config import load_settings
from profile_poller.entry.producer import register
from profile_poller.entry.runtime import Runtime
from tests.conftest import ROOT
from tests.integration.faults import proxy
from tests.integration.test_archive_failures import keys
from tests.integration.test_hostile_input import item, messages

__all__ = ["proxy"]
MiB = 1024**2


class Elapsed:
    """The Lambda context's monotonic clock, moved forward by the file server as it sends bytes."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.seconds

    def set(self, seconds: float) -> None:
        with self._lock:
            self.seconds = max(self.seconds, seconds)


def blocks(size: int, block: bytes = b"x" * 65536) -> FileSpec:
    def chunks() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    return FileSpec(size=size // len(block) * len(block), chunks=chunks)


@pytest.fixture
def runtime(
    request: pytest.FixtureRequest,
    stack: LocalStack,
    sim: Simulator,
    proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    """The handler with its AWS calls through the fault proxy (no faults: it counts them); env from `env` marks."""
    marker = request.node.get_closest_marker("env")
    for name, value in stack.function_env(sim.base_url, **(marker.kwargs if marker else {})).items():
        monkeypatch.setenv(name, value)
    app.use_runtime(Runtime.build(load_settings(), clock=OffsetClock(), aws=AwsPolicy(endpoint_url=proxy.url)))
    yield
    app.use_runtime(None)


def invoke(context: LambdaContext) -> dict[str, Any]:
    summary: dict[str, Any] = app.lambda_handler(json.loads((ROOT / "events" / "schedule.json").read_text()), context)
    return summary


@pytest.mark.env(CONCURRENCY="4", TIME_MARGIN_SECONDS="30")
def test_a_trickling_file_is_cut_at_the_deadline_aborted_rescheduled_and_the_batch_flushed(
    stack: LocalStack, sim: Simulator, proxy: FaultProxy, runtime: None
) -> None:
    # Given a 2-minute invocation, a request finished without files, and one whose 96 MiB file starts fast, then
    # trickles once its first part has reached S3: from then on the clock stands 1 s past the copy deadline
    # (120 s - the 30 s margin). Time moves only when the server sends (socket buffers hide a fast sender's lead)
    elapsed = Elapsed()
    slow = blocks(96 * MiB)

    def trickle(sent: int) -> None:
        if proxy.calls[Call("s3", "UploadPart")] > 0:
            elapsed.set(91.0)

    slow.on_sent = trickle
    sim.add_file("slow.json", slow)
    sim.script("r-slow", Step.done_get(sim.api_file_path("slow.json")))
    sim.script("r-done", Step.done_update(3, None))
    ddb = stack.client("dynamodb")
    register(ddb, stack.table, "r-done")
    register(ddb, stack.table, "r-slow")
    context = LambdaContext(timeout_ms=120_000, monotonic=elapsed)
    # When the sweep runs
    summary = invoke(context)
    # Then the copy was cut: counted, its multipart upload aborted, nothing left in the bucket
    assert summary["copies_out_of_time"] == 1
    assert proxy.calls[Call("s3", "AbortMultipartUpload")] >= 1
    assert keys(stack) == [] and "Uploads" not in stack.client("s3").list_multipart_uploads(Bucket=stack.bucket)
    # and the request is rescheduled with the error counted, to be copied again by a later sweep
    slow_item = item(stack, "r-slow")
    assert slow_item["status"] == "PENDING" and "lease_owner" not in slow_item
    assert slow_item["transient_errors"] == 1 and "deadline" in slow_item["last_error"]
    # and the outcome decided in the same sweep was published before the time ran out
    assert summary["completed"] == 1 and messages(stack)["r-done"]["status"] == "COMPLETED"
    assert context.get_remaining_time_in_millis() > 0


@pytest.mark.env(COPY_MIN_BYTES_PER_SECOND="1000")
def test_a_file_too_large_for_one_invocation_is_not_archived_with_the_reason(
    stack: LocalStack, sim: Simulator, runtime: None
) -> None:
    # Given a 5-minute invocation and a 1 MiB file: at the assumed 1000 B/s it needs 1049 s, more than it can have
    sim.add_file("big.json", blocks(MiB))
    sim.script("r1", Step.done_get(sim.api_file_path("big.json")))
    register(stack.client("dynamodb"), stack.table, "r1")
    summary = invoke(LambdaContext(timeout_ms=300_000))
    # Then the request completes (the answer is final) with the file not archived and why
    message = messages(stack)["r1"]
    [stored] = message["files"]
    assert message["status"] == "COMPLETED" and stored["archived"] is False
    assert "COPY_MIN_BYTES_PER_SECOND" in stored["reason"] and "one invocation" in stored["reason"]
    assert keys(stack) == [] and summary["files_not_archived"] == 1


@pytest.mark.env(CONCURRENCY="4", COPY_CONCURRENCY="1")
def test_copies_are_bounded_apart_from_status_calls(stack: LocalStack, sim: Simulator, runtime: None) -> None:
    # Given four requests finishing at once, each with a 12 MiB file (larger than the socket buffers)
    ddb = stack.client("dynamodb")
    for n in range(4):
        sim.add_file(f"f{n}.json", blocks(12 * MiB))
        sim.script(f"r{n}", Step.done_get(sim.api_file_path(f"f{n}.json")))
        register(ddb, stack.table, f"r{n}")
    summary = invoke(LambdaContext())
    # Then all four are archived, one download at a time, while the status calls ran four at once
    assert summary["completed"] == 4 and len(keys(stack)) == 4
    assert sim.max_downloads_in_flight == 1
