"""The filter policies of docs/subscribers.md, on SQS subscriptions to the topic on the moto server, fed by the
real SNS adapter: only failures, only updates with errors, and one correlation key's value (payload filter)."""

from __future__ import annotations

import json
from typing import Any

from local.stack import LocalStack, drain
from profile_poller.adapters.sns import SnsNotifier
from profile_poller.core.model import ErrorRow, Kind, Outcome, Status

FILTERS: dict[str, tuple[dict[str, Any], str]] = {
    "failures": ({"status": ["FAILED", "EXPIRED"]}, "MessageAttributes"),
    "updates-with-errors": ({"kind": ["update"], "has_errors": ["true"]}, "MessageAttributes"),
    "nightly": ({"correlation": {"workflow": ["nightly-sync"]}}, "MessageBody"),
}


def outcome(request_id: str, status: Status, kind: Kind, **fields: Any) -> Outcome:
    return Outcome(request_id, status, kind, 1_800_000_000, 1_800_000_600, 1, **fields)


def subscribe(stack: LocalStack, name: str, policy: dict[str, Any], scope: str) -> str:
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=stack.topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps(policy), "FilterPolicyScope": scope},
    )
    return url


def test_each_documented_filter_policy_lets_through_exactly_its_messages(stack: LocalStack) -> None:
    queues = {name: subscribe(stack, name, policy, scope) for name, (policy, scope) in FILTERS.items()}
    nightly = {"workflow": "nightly-sync", "run": "42"}
    outcomes = [
        outcome("ok-update", Status.COMPLETED, Kind.UPDATE, update_count=5, error_count=0, correlation=nightly),
        outcome(
            "bad-rows",
            Status.COMPLETED,
            Kind.UPDATE,
            update_count=5,
            error_count=1,
            errors_by_code={"3005": 1},
            first_errors=(ErrorRow("3005", "Invalid Profile ID", "1"),),
        ),
        outcome("refused", Status.FAILED, Kind.GET, api_code="3005", correlation={"workflow": "other"}),
        outcome("too-slow", Status.EXPIRED, Kind.UPDATE, correlation=nightly),
    ]
    assert SnsNotifier(stack.client("sns"), stack.topic_arn).publish(outcomes) == set()
    received = {
        name: sorted(json.loads(m["Message"])["request_id"] for m in drain(stack, url)) for name, url in queues.items()
    }
    assert received == {
        "failures": ["refused", "too-slow"],
        "updates-with-errors": ["bad-rows", "too-slow"],  # an EXPIRED update has errors: it has no result
        "nightly": ["ok-update", "too-slow"],
    }
