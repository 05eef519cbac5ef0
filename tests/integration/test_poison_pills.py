"""Poison pills end to end (moto server + simulator, issue 12): one bad file, item or message must never stall
the request it belongs to, nor any other."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from local.simulator import FileSpec, Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.adapters.dynamo_items import from_dynamo, to_dynamo
from profile_poller.adapters.sns import SnsNotifier
from profile_poller.core.model import ErrorRow, Kind, Outcome, Status
from profile_poller.entry.cli import main as cli
from profile_poller.entry.producer import InvalidSubmittedAt, register
from tests.conftest import Ticks
from tests.integration.by_hand import put

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


# -- item 2: unbounded error summaries; a write refused for one item ------------------------------------------


def empty_names(value: Any) -> list[str]:
    """Map keys that are empty strings anywhere in a DynamoDB-typed value (real DynamoDB refuses them)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "":
                found.append(repr(value)[:80])
            found += empty_names(inner)
    elif isinstance(value, list):
        for inner in value:
            found += empty_names(inner)
    return found


def sent_updates() -> list[dict[str, Any]]:
    """Every UpdateItem the handler's DynamoDB client sends from now on, as sent (observed, not altered)."""
    import app

    calls: list[dict[str, Any]] = []
    client = app._runtime.deps.store._client  # type: ignore[union-attr]
    client.meta.events.register("provide-client-params.dynamodb.UpdateItem", lambda params, **_: calls.append(params))
    return calls


def test_an_error_file_with_huge_descriptions_many_codes_and_an_empty_code_completes_within_bounds(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks
) -> None:
    # Given an error file with ten 120,000-character descriptions, an empty code, and 2,000 distinct codes
    huge = b"".join(b'%d, "%s", %d\r\n' % (9000 + i, b"x" * 120_000, i) for i in range(10))
    many = b"".join(b'C%d, "bad", %d\r\n' % (i, i) for i in range(2000))
    body = HEADER + huge + b', "no code", 99\r\n' + many
    sim.add_file("e.csv", FileSpec(body))
    sim.script("r1", Step.done_update(1, sim.api_file_path("e.csv")))
    register(stack.client("dynamodb"), stack.table, "r1")
    updates = sent_updates()
    # When a sweep runs
    [summary] = handler_ticks()
    # Then the request completes, the sweep carries on, and what is stored and sent is bounded
    assert summary["completed"] == 1 and summary["systemic"] == 0 and summary["stopped"] is None
    message = messages(stack)["r1"]
    assert message["error_count"] == 2011
    codes = message["errors_by_code"]
    assert len(codes) == 50 and sum(codes.values()) == 2011 and codes["(other)"] > 0 and codes["(empty)"] == 1
    assert all(len(row["description"]) <= 300 for row in message["first_errors"])
    assert item(stack, "r1")["outcome"]["errors_by_code"] == codes
    assert [name for call in updates for name in empty_names(call.get("ExpressionAttributeValues"))] == []


def test_a_write_refused_for_one_item_is_that_requests_problem_not_the_tables(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks
) -> None:
    # Given an item so close to DynamoDB's 400 KB that its full outcome cannot be stored, and three ordinary ones
    sim.add_file("e.csv", FileSpec(HEADER + b"".join(b'3005, "%s", %d\r\n' % (b"y" * 250, i) for i in range(10))))
    put(stack, request_id="fat", status="PENDING", due_shard="0", next_check_at=0, junk="j" * 402_000)
    sim.script("fat", Step.done_update(1, sim.api_file_path("e.csv")))
    for rid in ("ok-1", "ok-2", "ok-3"):
        sim.script(rid, Step.done_update(1, None))
        register(stack.client("dynamodb"), stack.table, rid)
    # When a sweep runs
    [summary] = handler_ticks()
    # Then the table is not taken for failing: nothing systemic, every request settled
    assert summary["systemic"] == 0 and summary["stopped"] is None and summary["completed"] == 4
    # and the big one is stored and sent without its error details, saying why
    message = messages(stack)["fat"]
    assert message["status"] == "COMPLETED" and message["error_count"] == 10
    assert message["first_errors"] == [] and message["errors_by_code"] == {}
    assert "the table refused the full outcome" in message["reason"]
    # naming the request and what DynamoDB said was wrong with it
    assert "for fat: Item size to update has exceeded the maximum allowed size" in message["reason"]
    assert item(stack, "fat")["status"] == "COMPLETED"


# -- item 3: one bad message must not poison its SNS batch ----------------------------------------------------


def test_five_failed_outcomes_one_with_a_millisecond_submitted_at_are_all_published(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks
) -> None:
    # Given five requests the API fails, one stored by hand with submitted_at in milliseconds
    now = int(time.time())
    for i in range(5):
        sim.script(f"f-{i}", Step.error(200, "3005", "Invalid Profile ID"))
        put(
            stack,
            request_id=f"f-{i}",
            status="PENDING",
            due_shard="0",
            next_check_at=0,
            submitted_at=now * 1000 ** (i == 2),
        )
    # When three sweeps run
    handler_ticks(3)
    # Then all five are published, the millisecond time read as the date it meant
    sent = messages(stack)
    assert sorted(sent) == [f"f-{i}" for i in range(5)] and {m["status"] for m in sent.values()} == {"FAILED"}
    assert sent["f-2"]["submitted_at"][:10] == time.strftime("%Y-%m-%d", time.gmtime(now))


def notifier(stack: LocalStack) -> tuple[SnsNotifier, list[dict[str, Any]]]:
    """The adapter against the moto server, and every PublishBatch it sends, as sent."""
    client = stack.client("sns")
    calls: list[dict[str, Any]] = []
    client.meta.events.register("provide-client-params.sns.PublishBatch", lambda params, **_: calls.append(params))
    return SnsNotifier(client, stack.topic_arn), calls


def outcome(rid: str, **fields: Any) -> Outcome:
    return Outcome(
        rid, Status.FAILED, Kind.UPDATE, submitted_at=1_800_000_000, finished_at=1_800_000_100, attempts=1, **fields
    )


class Unbuildable(Outcome):
    """An outcome whose message cannot be built, whatever the cause."""

    @property
    def has_errors(self) -> bool:
        raise ValueError("cannot build this one")


def test_a_message_that_cannot_be_built_fails_alone(stack: LocalStack) -> None:
    sns, _ = notifier(stack)
    good = [outcome(f"g-{i}") for i in range(9)]
    bad = Unbuildable("bad", Status.FAILED, Kind.UPDATE, 1_800_000_000, 1_800_000_100, 1)
    assert sns.publish([*good[:4], bad, *good[4:]]) == {bad.event_id}
    assert sorted(messages(stack)) == sorted(o.request_id for o in good)


def test_batches_stay_within_256_kib_in_total_and_subjects_are_ascii(stack: LocalStack) -> None:
    # Given ten outcomes of about 36 KB each (non-ASCII descriptions are escaped in JSON) and a non-ASCII id
    rows = tuple(ErrorRow(str(i), "\N{GRINNING FACE}" * 300, str(i)) for i in range(10))
    big = [outcome(f"big-{i}", error_count=10, first_errors=rows) for i in range(10)]
    odd = outcome("ünïcode-✓", reason="invalid request-id")
    sns, calls = notifier(stack)
    # When they are published together
    assert sns.publish([*big, odd]) == set()
    # Then every one arrives, and no PublishBatch passes its limits or carries a non-ASCII subject
    assert len(messages(stack)) == 11
    for call in calls:
        entries = call["PublishBatchRequestEntries"]
        size = sum(
            len(e["Message"].encode())
            + len(e["Subject"].encode())
            + sum(len(k) + len("String") + len(v["StringValue"].encode()) for k, v in e["MessageAttributes"].items())
            for e in entries
        )
        assert len(entries) <= 10 and size <= 256 * 1024
        assert all(e["Subject"].isascii() for e in entries)
    assert len(calls) >= 2


def test_registration_refuses_a_millisecond_submitted_at_with_a_clear_error(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InvalidSubmittedAt, match="looks like milliseconds"):
        register(stack.client("dynamodb"), stack.table, "r1", submitted_at=1_800_000_000_000)
    monkeypatch.setenv("TABLE_NAME", stack.table)
    assert cli(["register", "r1", "--submitted-at", "1800000000000"]) == 2
    assert "submitted_at 1800000000000 looks like milliseconds" in capsys.readouterr().err
    assert cli(["register", "r1", "--submitted-at", "-1"]) == 2
    assert "out of range" in capsys.readouterr().err
    assert "Item" not in stack.client("dynamodb").get_item(TableName=stack.table, Key=to_dynamo({"request_id": "r1"}))
