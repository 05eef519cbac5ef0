"""Registration by event on the moto server: the bus, its rule, the queue with its DLQ, the rejected-records
queue (as template.yaml declares them), and `deliver`, which plays the Lambda SQS event source mapping.

moto delivers `PutEvents` on the bus through the rule's pattern to the SQS target (the envelope as the body) and
moves a message to the dead-letter queue after `maxReceiveCount` receives. It has no event source mapping on a
server without Docker, so `deliver` receives a batch, shapes it as Lambda's SQS event, calls the handler and
deletes the records not reported in `batchItemFailures`, as the mapping does with ReportBatchItemFailures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from local.context import LambdaContext
from local.stack import LOCAL_NAMES, REGION, LocalStack

DETAIL_TYPE = "Profile Request Submitted"
SOURCE = "local.producer"
MAX_RECEIVE_COUNT = 5  # template.yaml: RegistrationQueue RedrivePolicy


@dataclass
class Registration:
    bus: str
    queue_url: str
    queue_arn: str
    dead_letter_url: str
    rejected_url: str


def _queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def create_registration(stack: LocalStack) -> Registration:
    sqs = stack.client("sqs")
    dlq_url, dlq_arn = _queue(sqs, LOCAL_NAMES["RegistrationDeadLetterQueue"])
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
    queue_url, queue_arn = _queue(sqs, LOCAL_NAMES["RegistrationQueue"], RedrivePolicy=redrive)
    rejected_url, _ = _queue(sqs, LOCAL_NAMES["RejectedRegistrationsQueue"])
    events = stack.client("events")
    bus = LOCAL_NAMES["RegistrationBus"]
    events.create_event_bus(Name=bus)
    rule = f"{bus}-submitted"
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"detail-type": [DETAIL_TYPE]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "registration-queue", "Arn": queue_arn}])
    return Registration(bus, queue_url, queue_arn, dlq_url, rejected_url)


def put_submissions(stack: LocalStack, bus: str, details: list[dict[str, Any]], detail_type: str = DETAIL_TYPE) -> None:
    """What a producer does: PutEvents on the bus (up to ten entries a call)."""
    events = stack.client("events")
    for start in range(0, len(details), 10):
        entries = [
            {"EventBusName": bus, "Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail)}
            for detail in details[start : start + 10]
        ]
        answer = events.put_events(Entries=entries)
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents failed: {answer['Entries']}")


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Lambda's SQS event for received messages (the fields the batch utility reads)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def deliver(stack: LocalStack, registration: Registration, handler: Any) -> list[dict[str, Any]]:
    """One pass of the event source mapping: batches of up to ten until the queue looks empty. Returns the
    handler's answers. Failed records become visible again at once (visibility timeout 0 on receive)."""
    sqs = stack.client("sqs")
    answers: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(
            QueueUrl=registration.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return answers
        answer = handler(sqs_event(messages, registration.queue_arn), LambdaContext())
        answers.append(answer)
        failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=registration.queue_url, ReceiptHandle=message["ReceiptHandle"])
        if failed:
            return answers  # as the mapping does, the failed ones come back on a later poll


def queued(stack: LocalStack, queue_url: str) -> list[dict[str, Any]]:
    """Every message waiting in a queue, with its message attributes (deleted as read)."""
    sqs = stack.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
