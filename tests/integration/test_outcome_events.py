"""Outcome events over the wire (issue 19): a sweep puts each outcome on the outcome bus (source profile-poller,
detail-type Profile Request Finished, detail = the SNS message body exactly); moto delivers the events a rule
matches to its SQS target."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from local.simulator import Simulator, Step
from local.stack import LocalStack, drain
from local.workflow import OUTCOME_BUS, create_outcome_rule
from profile_poller.adapters.outcome_events import DETAIL_TYPE, SOURCE, EventBridgeNotifier
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.entry.config import load_settings
from profile_poller.entry.runtime import Runtime
from tests.unit.test_events_and_messages import SCHEMA


def events_in(stack: LocalStack, url: str) -> list[dict[str, Any]]:
    sqs = stack.client("sqs")
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_a_rule_on_status_failed_receives_only_the_failed_outcomes_with_the_sns_body(
    stack: LocalStack, sim: Simulator
) -> None:
    # Given a rule on the outcome bus matching {"detail": {"status": ["FAILED"]}}, and one matching everything
    failed_only = create_outcome_rule(stack, {"detail": {"status": ["FAILED"]}}, queue="failed-outcomes")
    every = create_outcome_rule(stack, {"source": [SOURCE]}, queue="all-outcomes")
    for rid in ("ev-ok", "ev-bad"):
        stack.client("dynamodb").put_item(
            TableName=stack.table,
            Item={
                "request_id": {"S": rid},
                "status": {"S": "PENDING"},
                "due_shard": {"S": "0"},
                "next_check_at": {"N": "0"},
            },
        )
    sim.script("ev-ok", Step.done_update(2, None))
    sim.script("ev-bad", Step.error(200, 3005, "Invalid Profile ID"))
    # When a sweep runs with OUTCOME_BUS_NAME set
    settings = load_settings(stack.function_env(sim.base_url, OUTCOME_BUS_NAME=OUTCOME_BUS))
    summary = Runtime.build(settings).sweep("events-sweep", lambda: 600_000).as_dict()
    assert summary["completed"] == 1 and summary["failed"] == 1 and summary["publish_failures"] == 0
    # Then the FAILED rule got exactly the failed request's event
    [event] = events_in(stack, failed_only)
    assert event["source"] == SOURCE and event["detail-type"] == DETAIL_TYPE
    assert event["detail"]["request_id"] == "ev-bad" and event["detail"]["event_id"] == "ev-bad:FAILED"
    # And each event's detail is the SNS message body, exactly (same event_id: a subscriber deduplicates on it)
    assert stack.queue_url is not None
    sns = {json.loads(m["Message"])["event_id"]: json.loads(m["Message"]) for m in drain(stack, stack.queue_url)}
    details = {e["detail"]["event_id"]: e["detail"] for e in events_in(stack, every)}
    assert details == sns and set(details) == {"ev-ok:COMPLETED", "ev-bad:FAILED"}
    for detail in details.values():
        jsonschema.validate(detail, SCHEMA)


def test_an_outcome_bus_that_does_not_exist_keeps_the_outcomes_pending(stack: LocalStack) -> None:
    notifier = EventBridgeNotifier(stack.client("events"), "no-such-bus")
    outcome = Outcome("ev-1", Status.COMPLETED, Kind.GET, 1_800_000_000, 1_800_000_001, 1)
    assert notifier.publish([outcome]) == {"ev-1:COMPLETED"}


@pytest.mark.parametrize("count", [1, 10, 11, 25])
def test_outcomes_go_out_ten_to_a_call_and_all_arrive(stack: LocalStack, count: int) -> None:
    url = create_outcome_rule(stack, {"source": [SOURCE]}, queue=f"batch-{count}")
    outcomes = [Outcome(f"b-{i}", Status.COMPLETED, Kind.GET, 1_800_000_000, 1_800_000_001, 1) for i in range(count)]
    assert EventBridgeNotifier(stack.client("events"), OUTCOME_BUS).publish(outcomes) == set()
    assert sorted(e["detail"]["request_id"] for e in events_in(stack, url)) == sorted(o.request_id for o in outcomes)
