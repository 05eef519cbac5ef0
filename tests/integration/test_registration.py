"""Registration by event over the wire: PutEvents on the moto bus -> the rule -> the queue -> the register
function (batches, partial failures) -> the table -> a sweep -> the SNS message carrying the correlation.
The table failing under the function: test_registration_faults.py."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest

from local.registration import (
    Registration,
    create_registration,
    deliver,
    put_submissions,
    queued,
)
from local.simulator import Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.adapters.dynamo_items import from_dynamo, to_dynamo
from profile_poller.core.registration import redacted
from profile_poller.entry.config import RegisterSettings
from profile_poller.entry.register import RegisterRuntime
from tests.conftest import Ticks
from tests.unit.test_events_and_messages import SCHEMA

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_800_000_000


def load_function() -> ModuleType:
    """functions/register/app.py as Lambda imports it (the poller's app.py owns the name `app` on sys.path)."""
    spec = importlib.util.spec_from_file_location("register_app", ROOT / "functions/register/app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def registration(stack: LocalStack) -> Registration:
    return create_registration(stack)


@pytest.fixture
def function(stack: LocalStack, registration: Registration) -> Iterator[ModuleType]:
    module = load_function()
    settings = RegisterSettings(stack.table, registration.rejected_url)
    module.use_runtime(RegisterRuntime.build(settings, clock=lambda: NOW))
    yield module
    module.use_runtime(None)


def items(stack: LocalStack) -> dict[str, dict[str, Any]]:
    raw = stack.client("dynamodb").scan(TableName=stack.table)["Items"]
    return {i["request_id"]["S"]: from_dynamo(i) for i in raw}


def emf(out: str) -> dict[str, int]:
    """Sum of each metric over the EMF lines printed to stdout."""
    totals: dict[str, int] = {}
    for line in out.splitlines():
        if '"_aws"' in line:
            data = json.loads(line)
            for metric in data["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = data[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + int(
                    sum(value) if isinstance(value, list) else value
                )
    return totals


def test_events_on_the_bus_become_pending_items_and_their_outcomes_carry_the_correlation(
    stack: LocalStack, registration: Registration, function: ModuleType, sim: Simulator, handler_ticks: Ticks
) -> None:
    # Given two submissions put on the bus, one with a correlation map and a submission time
    sim.script("evt-upd", Step.done_update(3, None))
    sim.script("evt-get", Step.error(200, 3005, "Invalid Profile ID"))
    correlation = {"workflow": "nightly-sync", "execution": "arn:aws:states:eu-west-1:1:execution:x:42"}
    put_submissions(
        stack,
        registration.bus,
        [
            {"request_id": "evt-upd", "kind": "update", "submitted_at": NOW - 60, "correlation": correlation},
            {"request_id": "evt-get", "kind": "get"},
        ],
    )
    # When the rule has delivered them and the function consumed the queue
    answers = deliver(stack, registration, function.lambda_handler)
    # Then both are registered with exactly the producer item (plus correlation), nothing failed or rejected
    assert answers == [{"batchItemFailures": []}]
    assert items(stack) == {
        "evt-upd": {
            "request_id": "evt-upd",
            "status": "PENDING",
            "due_shard": "0",
            "next_check_at": 0,
            "kind": "update",
            "submitted_at": NOW - 60,
            "correlation": correlation,
        },
        "evt-get": {
            "request_id": "evt-get",
            "status": "PENDING",
            "due_shard": "0",
            "next_check_at": 0,
            "kind": "get",
            "submitted_at": NOW,
        },
    }
    assert queued(stack, registration.queue_url) == [] and queued(stack, registration.rejected_url) == []
    # And a sweep settles them; each SNS message echoes the request's correlation ({} when none)
    handler_ticks()
    assert stack.queue_url is not None
    bodies = {b["request_id"]: b for b in (json.loads(m["Message"]) for m in drain(stack, stack.queue_url))}
    assert bodies["evt-upd"]["correlation"] == correlation and bodies["evt-upd"]["status"] == "COMPLETED"
    assert bodies["evt-get"]["correlation"] == {} and bodies["evt-get"]["status"] == "FAILED"
    for body in bodies.values():
        jsonschema.validate(body, SCHEMA)


def test_a_detail_sent_straight_to_the_queue_is_registered(
    stack: LocalStack, registration: Registration, function: ModuleType
) -> None:
    body = json.loads((ROOT / "events/register-sqs.json").read_text())["Records"][0]["body"]
    stack.client("sqs").send_message(QueueUrl=registration.queue_url, MessageBody=body)
    assert deliver(stack, registration, function.lambda_handler) == [{"batchItemFailures": []}]
    detail = json.loads(body)
    assert items(stack)[detail["request_id"]]["correlation"] == detail["correlation"]


def test_other_detail_types_on_the_bus_do_not_reach_the_queue(
    stack: LocalStack, registration: Registration, function: ModuleType
) -> None:
    put_submissions(stack, registration.bus, [{"request_id": "x1", "kind": "get"}], detail_type="Something Else")
    assert deliver(stack, registration, function.lambda_handler) == []
    assert items(stack) == {}


BAD_RECORDS = {
    "not json": ("{request_id: x1", "not JSON"),
    "array": ("[1, 2]", "not an object"),
    "no id": ('{"kind": "get"}', "request-id must be a string"),
    "bad id": ('{"request_id": "../etc/passwd", "kind": "get"}', "invalid request-id"),
    "numeric id": ('{"request_id": 42, "kind": "get"}', "request-id must be a string"),
    "no kind": ('{"request_id": "k1"}', "kind must be"),
    "odd kind": ('{"request_id": "k2", "kind": "GET"}', "kind must be"),
    "ms time": ('{"request_id": "t1", "kind": "get", "submitted_at": 1800000000000}', "submitted_at"),
    "string time": ('{"request_id": "t2", "kind": "get", "submitted_at": "1800000000"}', "submitted_at"),
    "11 keys": (
        json.dumps({"request_id": "c1", "kind": "get", "correlation": {f"k{i}": "v" for i in range(11)}}),
        "11 keys",
    ),
    "too big": (json.dumps({"request_id": "c2", "kind": "get", "correlation": {"k": "v" * 1100}}), "bytes"),
    "number value": ('{"request_id": "c3", "kind": "get", "correlation": {"n": 1}}', "values strings"),
    "unknown field": ('{"request_id": "u1", "kind": "get", "requestId": "u1"}', "unknown field"),
    "wrong envelope": ('{"detail-type": "Other", "detail": {"request_id": "e1", "kind": "get"}}', "detail-type"),
}


def test_records_that_can_never_succeed_are_counted_logged_and_kept_with_the_reason(
    stack: LocalStack,
    registration: Registration,
    function: ModuleType,
    capsys: pytest.CaptureFixture[str],
    log_lines: list[str],
) -> None:
    # Given a good record among records that can never become a registration
    sqs = stack.client("sqs")
    bodies = [body for body, _ in BAD_RECORDS.values()]
    for body in [*bodies, '{"request_id": "good-1", "kind": "update"}']:
        sqs.send_message(QueueUrl=registration.queue_url, MessageBody=body)
    # When the function consumes the queue
    answers = deliver(stack, registration, function.lambda_handler)
    # Then none is reported as a failure (no retry can help), only the good one is in the table
    assert all(a == {"batchItemFailures": []} for a in answers)
    assert list(items(stack)) == ["good-1"]
    assert queued(stack, registration.queue_url) == []
    # And each bad record is kept in the rejected-records queue with the reason as an attribute: as sent, except a
    # body that is not JSON, kept as its length and hash (it might hold a task token: review item 6)
    kept = {
        m["Body"]: m["MessageAttributes"]["reason"]["StringValue"] for m in queued(stack, registration.rejected_url)
    }
    assert set(kept) == {redacted(body) for body in bodies}
    assert "{request_id: x1" not in kept
    for body, expected in BAD_RECORDS.values():
        assert expected in kept[redacted(body)], (body, kept[redacted(body)])
    # And counted and logged with the reason
    assert emf(capsys.readouterr().out)["RegistrationsRejected"] == len(BAD_RECORDS)
    rejected_logs = [json.loads(line) for line in log_lines if "registration rejected" in line]
    assert len(rejected_logs) == len(BAD_RECORDS) and all(entry["reason"] for entry in rejected_logs)


def test_a_duplicate_succeeds_without_touching_the_item_and_never_revives_a_finished_request(
    stack: LocalStack, registration: Registration, function: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a finished request and a pending one with a correlation
    ddb = stack.client("dynamodb")
    done = {"request_id": "done-1", "status": "COMPLETED", "kind": "get", "outcome": {"status": "COMPLETED"}}
    ddb.put_item(TableName=stack.table, Item=to_dynamo(done))
    put_submissions(stack, registration.bus, [{"request_id": "dup-1", "kind": "get", "correlation": {"a": "1"}}])
    deliver(stack, registration, function.lambda_handler)
    before = items(stack)
    # When both are submitted again (changed kind and correlation), twice in one batch
    again: list[dict[str, Any]] = [
        {"request_id": "done-1", "kind": "update"},
        {"request_id": "dup-1", "kind": "update", "correlation": {"a": "2"}},
        {"request_id": "dup-1", "kind": "update"},
    ]
    put_submissions(stack, registration.bus, again)
    answers = deliver(stack, registration, function.lambda_handler)
    # Then every record succeeds, and both items are exactly as they were
    assert answers == [{"batchItemFailures": []}]
    assert items(stack) == before and before["done-1"]["status"] == "COMPLETED"
    assert emf(capsys.readouterr().out).get("DuplicateRegistrations") == 3


def test_bad_details_put_on_the_bus_are_rejected_with_their_envelope_kept(
    stack: LocalStack, registration: Registration, function: ModuleType
) -> None:
    # Given details that can never be registered, put on the bus like good ones
    bad: list[dict[str, Any]] = [
        {"request_id": "../etc", "kind": "get"},
        {"request_id": "ok-id", "kind": "delete"},
        {"request_id": "ok-id-2", "kind": "get", "correlation": {"k": "v" * 2000}},
    ]
    put_submissions(stack, registration.bus, bad)
    # When the rule has delivered them and the function consumed the queue
    answers = deliver(stack, registration, function.lambda_handler)
    # Then nothing is retried or registered, and each envelope is kept whole with its reason
    assert answers == [{"batchItemFailures": []}]
    assert items(stack) == {}
    kept = queued(stack, registration.rejected_url)
    details = sorted(json.loads(m["Body"])["detail"]["request_id"] for m in kept)
    assert details == ["../etc", "ok-id", "ok-id-2"]
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"].split(" ")[0] for m in kept)
    assert reasons == ["correlation", "invalid", "kind"]
