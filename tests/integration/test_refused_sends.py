"""A send that AWS refuses is reported, never taken as done (moto server behind the fault proxy): a PublishBatch
call that fails fails all its messages, a rejected record that cannot be kept is an error, and `republish`
says so when SNS refuses the message."""

from __future__ import annotations

import json

import pytest

from local.faultproxy import FaultProxy, Rule
from local.stack import LocalStack, drain
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.adapters.sns import SnsNotifier
from profile_poller.adapters.sqs import SqsRejectedRecords
from profile_poller.core.items import outcome_map
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.ports import StoreError
from profile_poller.entry.cli import main
from tests.integration.faults import client_via, proxy

__all__ = ["proxy"]  # the fixture, imported by name

NOW = 1_800_000_000


def outcome(rid: str) -> Outcome:
    return Outcome(rid, Status.COMPLETED, Kind.UPDATE, NOW, NOW + 5, 1, update_count=2, error_count=0)


@pytest.mark.parametrize("fault", ["error", "throttle", "reset"])
def test_a_publish_batch_call_that_fails_reports_every_message_of_it_failed(
    stack: LocalStack, proxy: FaultProxy, fault: str
) -> None:
    # Given SNS failing the PublishBatch call itself (not entries inside it) on every attempt
    proxy.set_rules([Rule("sns", fault)])
    batch = [outcome(f"r{i}") for i in range(12)]  # two batches: ten, then two
    # When the outcomes are published
    failed = SnsNotifier(client_via(proxy, "sns", attempts=2), stack.topic_arn).publish(batch)
    # Then every one is reported failed (their requests stay pending) and none was delivered
    assert failed == {o.event_id for o in batch}
    assert stack.queue_url is not None and drain(stack, stack.queue_url) == []


def test_a_publish_batch_call_that_fails_once_fails_only_its_own_batch(stack: LocalStack, proxy: FaultProxy) -> None:
    proxy.set_rules([Rule("sns", "error", times=1)])
    batch = [outcome(f"r{i}") for i in range(12)]
    failed = SnsNotifier(client_via(proxy, "sns", attempts=1), stack.topic_arn).publish(batch)
    assert stack.queue_url is not None
    delivered = {json.loads(m["Message"])["event_id"] for m in drain(stack, stack.queue_url)}
    assert failed == {o.event_id for o in batch[:10]} and delivered == {o.event_id for o in batch[10:]}


@pytest.mark.parametrize("fault", ["error", "throttle", "reset"])
def test_a_rejected_record_that_cannot_be_kept_is_an_error(stack: LocalStack, proxy: FaultProxy, fault: str) -> None:
    # Given the rejected-records queue failing every SendMessage
    queue_url = stack.client("sqs").create_queue(QueueName="rejected")["QueueUrl"]
    proxy.set_rules([Rule("sqs", fault)])
    rejected = SqsRejectedRecords(client_via(proxy, "sqs", attempts=2), queue_url)
    # When a record is kept, Then that fails loudly (the registration reports the record, SQS delivers it again)
    with pytest.raises(StoreError, match="keeping a rejected record failed"):
        rejected.keep('{"request_id": "bad/id"}', "invalid request-id")
    assert drain(stack, queue_url) == []


def test_republish_fails_with_exit_3_when_sns_refuses_the_message(
    stack: LocalStack, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a finished request, and SNS refusing the one message of the batch (PublishBatch lists it as Failed)
    stack.client("dynamodb").put_item(
        TableName=stack.table,
        Item=to_dynamo({"request_id": "pub", "status": "COMPLETED", "outcome": outcome_map(outcome("pub"))}),
    )
    monkeypatch.setenv("TABLE_NAME", stack.table)
    monkeypatch.setenv("TOPIC_ARN", stack.topic_arn)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", proxy.url)
    proxy.set_rules([Rule("sns", "partial")])
    # When the operator republishes it
    code = main(["republish", "pub", "--json"])
    # Then the command fails, saying SNS refused it, and claims nothing was published
    out, err = capsys.readouterr()
    assert code == 3 and out == "" and "SNS refused the message for pub:COMPLETED" in err
    assert stack.queue_url is not None and drain(stack, stack.queue_url) == []
