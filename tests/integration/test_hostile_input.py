"""Hostile input end to end (moto server + simulator): hand-written items, odd API answers, refused and broken
files. Each gets a clear error on the item, in the message or in the logs, and the sweep carries on."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from local.simulator import FileSpec, Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.adapters.dynamo_items import from_dynamo, to_dynamo
from profile_poller.core.model import InvalidRequestId
from profile_poller.entry.producer import register
from tests.conftest import Stranger, Ticks
from tests.integration.by_hand import put


def item(stack: LocalStack, rid: str) -> dict[str, Any]:
    raw = stack.client("dynamodb").get_item(TableName=stack.table, Key=to_dynamo({"request_id": rid}))["Item"]
    return from_dynamo(raw)


def envelopes(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """The SNS envelopes the subscriber got (body in "Message", attributes in "MessageAttributes"), by request."""
    assert stack.queue_url is not None
    return {json.loads(e["Message"])["request_id"]: e for e in drain(stack, stack.queue_url)}


def messages(stack: LocalStack) -> dict[str, dict[str, Any]]:
    return {rid: json.loads(e["Message"]) for rid, e in envelopes(stack).items()}


def test_hand_written_items(stack: LocalStack, sim: Simulator, handler_ticks: Ticks, log_lines: list[str]) -> None:
    sim.script("no-status", Step.done_update(1, None))
    sim.script("odd-kind", Step.done_update(2, None))
    put(stack, request_id="no-status", due_shard="0", next_check_at=0)
    put(
        stack,
        request_id="odd-kind",
        status="PENDING",
        due_shard="0",
        next_check_at=0,
        kind="sideways",
        attempts="three",
        transient_errors=None,
        submitted_at="yesterday",
    )
    put(stack, request_id="stray-index", status="COMPLETED", due_shard="0", next_check_at=0)
    for bad in ("a/b", "what?", "frag#1", "../up"):
        put(stack, request_id=bad, status="PENDING", due_shard="0", next_check_at=0)
    [summary] = handler_ticks()
    assert summary["errors"] == 0
    assert item(stack, "no-status")["status"] == "COMPLETED"
    assert item(stack, "odd-kind")["status"] == "COMPLETED"
    stray = item(stack, "stray-index")
    assert "due_shard" not in stray and "status 'COMPLETED' is not PENDING" in stray["last_error"]
    assert any("malformed item removed from the due index" in line for line in log_lines)
    sent = messages(stack)
    for bad in ("a/b", "what?", "frag#1", "../up"):
        assert item(stack, bad)["status"] == "FAILED" and "invalid request-id" in sent[bad]["reason"]
    assert all(
        "profilequerystatus/no-status" in c.path or "profilequerystatus/odd-kind" in c.path for c in sim.calls
    )  # no invalid id ever reached a URL
    assert handler_ticks()[0]["due_seen"] == 0  # nothing left that every sweep would trip over


def test_a_huge_request_id_is_refused_at_the_door(stack: LocalStack) -> None:
    ddb = stack.client("dynamodb")
    for huge in ("x" * 129, "x" * 10_000):
        with pytest.raises(InvalidRequestId, match="invalid request-id"):
            register(ddb, stack.table, huge)
    assert ddb.scan(TableName=stack.table)["Count"] == 0  # nothing was written
    register(ddb, stack.table, "x" * 128)  # the longest id allowed goes in
    assert [i["request_id"]["S"] for i in ddb.scan(TableName=stack.table)["Items"]] == ["x" * 128]


@pytest.mark.parametrize("body", [b"<html>maintenance</html>", b"", b"not json at all", b'{"code": 1010, "desc'])
def test_unusable_answers_are_transient_and_recorded(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, body: bytes
) -> None:
    sim.script("r1", Step.raw(200, body), Step.done_update(3, None))
    register(stack.client("dynamodb"), stack.table, "r1")
    first, second = handler_ticks(2)
    assert first["transient_errors"] == 1 and "HTTP 200" in item(stack, "r1").get("last_error", "")
    assert second["completed"] == 1


def test_a_50_mb_answer_is_read_with_a_cap(stack: LocalStack, sim: Simulator, handler_ticks: Ticks) -> None:
    sim.script("r1", Step.raw(200, b"[" + b"1," * (25 * 1024 * 1024) + b"1]", "application/json"))
    register(stack.client("dynamodb"), stack.table, "r1")
    [summary] = handler_ticks()
    assert summary["transient_errors"] == 1 and "over 1048576 bytes" in item(stack, "r1")["last_error"]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "'169.254.169.254' is not the API host nor in FILE_HOSTS"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("https://evil.example/x.csv", "'evil.example' is not the API host"),
        ("/campaignapi/resources/v3/files/../../secrets", "'.' or '..' segments"),
    ],
)
def test_files_off_the_policy_are_not_archived_and_the_request_completes(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, path: str, why: str, log_lines: list[str]
) -> None:
    # Given a finished update whose error file the policy forbids fetching
    sim.script("r1", Step.done_update(4, path))
    register(stack.client("dynamodb"), stack.table, "r1")
    # When the handler runs
    [summary] = handler_ticks()
    # Then the request is COMPLETED as the API said, the file is listed as not archived with the reason, the counts
    # of the unread error file are unknown, nothing was fetched, and the refusal is a warning
    envelope = envelopes(stack)["r1"]
    message = json.loads(envelope["Message"])
    assert message["status"] == "COMPLETED" and message["update_count"] == 4 and message["error_count"] is None
    [entry] = message["files"]
    assert entry["archived"] is False and why in entry["reason"] and entry["s3_uri"] is None
    assert envelope["MessageAttributes"]["archived"]["Value"] == "false" and summary["files_not_archived"] == 1
    assert stack.client("s3").list_objects_v2(Bucket=stack.bucket).get("KeyCount") == 0
    [warning] = [json.loads(line) for line in log_lines if "file not archived" in line]
    assert warning["level"] == "WARNING" and warning["reason"] == entry["reason"]


def test_an_allowed_host_redirecting_off_the_list_is_refused(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, stranger: Stranger
) -> None:
    sim.script("r1", Step.done_get(f"{sim.file_host_url}/redirect?to={stranger.url}/latest"))
    register(stack.client("dynamodb"), stack.table, "r1")
    handler_ticks()
    message = messages(stack)["r1"]
    assert message["status"] == "COMPLETED" and "'127.0.0.2' is not the API host" in message["reason"]
    assert message["files"][0]["archived"] is False and stranger.requests == []
    assert stack.client("s3").list_objects_v2(Bucket=stack.bucket).get("KeyCount") == 0


@pytest.mark.env(MAX_FILE_BYTES="100000")
@pytest.mark.parametrize("encoding", ["length", "chunked", "gzip"])
def test_a_file_over_max_file_bytes_is_not_copied(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, encoding: str
) -> None:
    # sent with a Content-Length, chunked (no length), or gzip-encoded (the length is the packed size, ~200 B)
    sim.add_file("big.csv", FileSpec(b"x" * 200_000, chunked=encoding == "chunked", gzip=encoding == "gzip"))
    sim.script("r1", Step.done_get(sim.api_file_path("big.csv")))
    register(stack.client("dynamodb"), stack.table, "r1")
    handler_ticks()
    message = messages(stack)["r1"]
    assert message["status"] == "COMPLETED" and "MAX_FILE_BYTES" in message["files"][0]["reason"]
    assert stack.client("s3").list_objects_v2(Bucket=stack.bucket).get("KeyCount") == 0


def test_a_broken_error_file_is_archived_as_is_with_unknown_counts(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks
) -> None:
    broken = b'Code, Description, Index\r\n3005, "never closed, 1\r\n'
    sim.add_file("e.csv", FileSpec(broken))
    sim.script("r1", Step.done_update("-5", sim.api_file_path("e.csv")))
    register(stack.client("dynamodb"), stack.table, "r1")
    handler_ticks()
    envelope = envelopes(stack)["r1"]
    message = json.loads(envelope["Message"])
    assert message["status"] == "COMPLETED" and message["error_count"] is None and message["update_count"] is None
    assert "quoted field" in message["reason"] and "update-count" in message["reason"]
    [stored] = message["files"]
    key = stored["s3_uri"].split("/", 3)[3]
    assert stack.client("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read() == broken
    assert stored["role"] == "error-file" and stored["sha256"] == hashlib.sha256(broken).hexdigest()
    # an error file we could not count still means errors: subscribers filtering on has_errors get it
    assert envelope["MessageAttributes"]["has_errors"]["Value"] == "true"


def test_an_https_file_that_appears_late_is_archived_and_one_that_never_does_is_not(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks
) -> None:
    # Given two finished gets whose files are not there yet (404); one appears before the next sweep
    sim.script("late", Step.done_get(sim.api_file_path("late.csv")))
    sim.script("never", Step.done_get(sim.public_file_url("never.csv")))
    for rid in ("late", "never"):
        register(stack.client("dynamodb"), stack.table, rid)
    [first] = handler_ticks()
    assert first["transient_errors"] == 2 and messages(stack) == {}
    sim.add_file("late.csv", FileSpec(b"arrived"))
    # When the sweeps go on past FILE_NOT_FOUND_TRIES (3)
    handler_ticks(2)
    # Then the late file is archived, the other request completes with its file not archived, nothing FAILED
    found = messages(stack)
    assert found["late"]["status"] == "COMPLETED" and found["late"]["files"][0]["archived"] is True
    assert found["never"]["status"] == "COMPLETED" and found["never"]["files"][0]["archived"] is False
    assert "not found after the bounded tries" in found["never"]["files"][0]["reason"]
