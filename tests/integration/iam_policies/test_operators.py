"""Operators (OperatorPolicy, OperatorRole; docs/operations.md, docs/deploy.md "Access"): the CLI and the runbook
with exactly their policies, and what they may not do."""

from __future__ import annotations

from typing import Any

import pytest

from local.policies import LocalArns
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.core.model import Kind
from profile_poller.entry.cli import main
from profile_poller.entry.producer import register
from tests.integration.iam_policies.world import NOW, World, authorised, denied, new_id, stored


def seed_finished(world: World, request_id: str, status: str = "FAILED") -> None:
    admin = world.as_["admin"]
    outcome = {"status": status, "finished_at": NOW, "event_id": f"{request_id}:{status}"}
    admin.client("dynamodb").put_item(
        TableName=admin.table,
        Item=to_dynamo(
            {
                "request_id": request_id,
                "status": status,
                "kind": "get",
                "submitted_at": NOW - 60,
                "outcome": outcome,
                "attempts": 1,
                "transient_errors": 0,
            }
        ),
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def test_an_operator_runs_every_documented_cli_command_with_exactly_the_operator_policy(
    world: World, acting_as: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pending and a failed request
    pending, failed = new_id(), new_id()
    admin = world.as_["admin"]
    register(admin.client("dynamodb"), admin.table, pending, kind=Kind.GET, submitted_at=NOW)
    seed_finished(world, failed)
    acting_as("OperatorPolicy")
    monkeypatch.setenv("TABLE_NAME", admin.table)
    monkeypatch.setenv("TOPIC_ARN", admin.topic_arn)
    # When the operator runs the read commands, a retry and a republish (docs/operations.md)
    for argv in (["show", pending], ["list"], ["list", "--status", "FAILED", "--json"], ["stats"]):
        code, text = run(capsys, *argv)
        assert code == 0, (argv, text)
    seed_finished(world, republished := new_id(), "COMPLETED")
    code, text = run(capsys, "republish", republished)
    assert code == 0, text  # moto does not evaluate the topic's policy: AWS needs OperatorRole (docs)
    code, text = run(capsys, "retry", failed)
    assert code == 0, text
    assert (stored(world, failed) or {}).get("status") == "PENDING"
    # But register is the producer's: the operator policy alone is refused (docs: add ProducerPolicyArn)
    code, text = run(capsys, "register", new_id())
    assert code == 3 and "AccessDenied" in text
    # And --stack reads the stack's outputs (DescribeStacks; moto answers that there is no such stack)
    assert authorised(world.as_["OperatorPolicy"].client("cloudformation").describe_stacks, StackName="no-such-stack")


def test_an_operator_follows_the_runbook_on_every_alarmed_queue_but_cannot_purge_or_delete_items(
    world: World,
) -> None:
    operator, admin = world.as_["OperatorPolicy"], world.as_["admin"]
    queues = [
        world.failure_url,
        world.schedule_dlq_url,
        world.registration.dead_letter_url,
        world.registration.rejected_url,
    ]
    for url in queues:
        # Given a message in each queue the runbook sends the operator to
        admin.client("sqs").send_message(QueueUrl=url, MessageBody='{"what": "landed"}')
        # When the operator reads it and deletes it once handled
        [message] = operator.client("sqs").receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
        operator.client("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        operator.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        # Then both were allowed, and purging (which the runbook no longer asks for) is not
        assert denied(operator.client("sqs").purge_queue, QueueUrl=url)
    # And the redrive from the registration DLQ back to the registration queue
    dlq_arn = LocalArns(admin.table, admin.bucket, admin.topic_arn, admin.secret_id).arn("RegistrationDeadLetterQueue")
    move = operator.client("sqs").start_message_move_task
    assert authorised(move, SourceArn=dlq_arn, DestinationArn=world.registration.queue_arn)
    ddb = operator.client("dynamodb")
    assert denied(ddb.delete_item, TableName=operator.table, Key=to_dynamo({"request_id": "x"}))
    assert denied(ddb.put_item, TableName=operator.table, Item=to_dynamo({"request_id": "x"}))
    assert denied(operator.client("secretsmanager").get_secret_value, SecretId=operator.secret_id)
    assert denied(operator.client("s3").get_object, Bucket=operator.bucket, Key="profile-requests/x")


def test_the_operator_role_registers_and_republishes(
    world: World, acting_as: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an operator who assumed OperatorRole (both policies; docs/deploy.md "Access")
    acting_as("OperatorRole")
    admin = world.as_["admin"]
    monkeypatch.setenv("TABLE_NAME", admin.table)
    monkeypatch.setenv("TOPIC_ARN", admin.topic_arn)
    finished, rid = new_id(), new_id()
    seed_finished(world, finished, "COMPLETED")
    # When it registers a request and republishes an outcome
    # Then both are allowed
    code, text = run(capsys, "register", rid, "--kind", "get")
    assert code == 0, text
    code, text = run(capsys, "republish", finished)
    assert code == 0, text
    assert (stored(world, rid) or {}).get("status") == "PENDING"
