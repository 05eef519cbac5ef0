"""Archive failures (issue 12, item 6), with the faults put in over the wire by the fault proxy in front of moto.

An archive error is the request's transient problem: it backs off and counts towards MAX_TRANSIENT_ERRORS like any
other, instead of being released to be downloaded again by every sweep; a failed metadata stamp leaves no
unstamped object behind; and MAX_FILE_BYTES cannot exceed what one CopyObject (the stamp) can rewrite."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

import app
from local.context import LambdaContext, OffsetClock
from local.faultproxy import FaultProxy, Rule, ops
from local.simulator import FileSpec, Simulator, Step
from local.stack import LocalStack
from profile_poller.adapters.s3 import S3Archive
from profile_poller.core.ports import StoreError
from profile_poller.entry.aws import AwsPolicy
from profile_poller.entry.config import ConfigError, load_settings
from profile_poller.entry.producer import register
from profile_poller.entry.runtime import Runtime
from tests.conftest import ROOT
from tests.integration.faults import client_via, proxy
from tests.integration.test_hostile_input import item, messages

__all__ = ["proxy"]
ERRORS = b'Code, Description, Index\r\n3005, "Invalid Profile ID", 1\r\n'


def keys(stack: LocalStack) -> list[str]:
    listed = stack.client("s3").list_objects_v2(Bucket=stack.bucket)
    return [o["Key"] for o in listed.get("Contents", [])]


@pytest.fixture
def via_proxy(
    stack: LocalStack, sim: Simulator, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OffsetClock]:
    """The handler with every AWS call going through the fault proxy (botocore retries kept short)."""
    for name, value in stack.function_env(sim.base_url, MAX_TRANSIENT_ERRORS="2").items():
        monkeypatch.setenv(name, value)
    clock = OffsetClock()
    app.use_runtime(Runtime.build(load_settings(), clock=clock, aws=AwsPolicy(endpoint_url=proxy.url)))
    yield clock
    app.use_runtime(None)


def sweep(clock: OffsetClock) -> dict[str, object]:
    event = json.loads((ROOT / "events" / "schedule.json").read_text())
    summary: dict[str, object] = app.lambda_handler(event, LambdaContext())
    clock.advance(3600)
    return summary


def test_a_failed_stamp_backs_off_counts_and_leaves_no_object(
    stack: LocalStack, sim: Simulator, proxy: FaultProxy, via_proxy: OffsetClock
) -> None:
    # Given a finished request whose error file uploads fine but whose metadata stamp (CopyObject) always fails
    sim.add_file("e.csv", FileSpec(ERRORS))
    sim.script("r1", Step.done_update(1, sim.api_file_path("e.csv")))
    register(stack.client("dynamodb"), stack.table, "r1")
    proxy.set_rules([Rule("s3", "error", operations=ops("CopyObject"))])
    # When a sweep runs
    started = int(via_proxy())
    summary = sweep(via_proxy)
    # Then no unstamped object is left, and the request is rescheduled ahead with the error counted
    assert keys(stack) == []
    stored = item(stack, "r1")
    assert stored["status"] == "PENDING" and "lease_owner" not in stored
    assert stored["transient_errors"] == 1 and stored["attempts"] == 1
    assert stored["next_check_at"] > started and "archiving" in stored["last_error"]
    assert summary["archive_failures"] == 1 and summary["transient_errors"] == 1 and summary["errors"] == 0
    # When it keeps failing: after MAX_TRANSIENT_ERRORS (2) tries the request completes (the answer is final)
    # with the file not archived and the reason, and nothing is left in the bucket
    sweep(via_proxy)
    assert item(stack, "r1")["status"] == "COMPLETED"
    [stored_file] = messages(stack)["r1"]["files"]
    assert stored_file["archived"] is False and "archiving failed" in stored_file["reason"]
    assert keys(stack) == []


def test_a_stamp_that_fails_is_removed_by_the_archive(stack: LocalStack, proxy: FaultProxy) -> None:
    archive = S3Archive(client_via(proxy, "s3", attempts=2), stack.bucket)
    archive.put("k", io.BytesIO(b"abc"), {"role": "file"})
    proxy.set_rules([Rule("s3", "error-in-200", operations=ops("CopyObject"))])
    with pytest.raises(StoreError, match="stamping"):
        archive.stamp("k", {"role": "file", "sha256": "x"})
    assert keys(stack) == []


def test_max_file_bytes_above_what_copyobject_can_stamp_is_refused(stack: LocalStack) -> None:
    env = stack.function_env("https://tenant.example", MAX_FILE_BYTES=str(5 * 1024**3 + 1))
    with pytest.raises(ConfigError, match="MAX_FILE_BYTES must be at most 5368709120"):
        load_settings(env)
    assert load_settings({**env, "MAX_FILE_BYTES": str(5 * 1024**3)}).max_file_bytes == 5 * 1024**3
