"""`republish` finds the outcomes topic from --topic, else TOPIC_ARN, else the --stack's OutcomesTopicArn output; with
none of them it stops with one line saying what is missing (docs/operations.md)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from local.stack import LocalStack, drain, subscribe
from profile_poller.adapters.dynamo_items import to_dynamo
from tests.integration.by_hand import cli

OUTCOME = {"status": "COMPLETED", "kind": "update", "submitted_at": 1_800_000_000, "update_count": 4}


@pytest.fixture(autouse=True)
def finished(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """A finished request to republish; neither TABLE_NAME nor TOPIC_ARN is set."""
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.delenv("TOPIC_ARN", raising=False)
    item = {"request_id": "done", "status": "COMPLETED", "outcome": OUTCOME}
    stack.client("dynamodb").put_item(TableName=stack.table, Item=to_dynamo(item))


def deploy(stack: LocalStack, name: str, **outputs: str) -> None:
    """A CloudFormation stack on the moto server with these outputs."""
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    stack.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def another_topic(stack: LocalStack) -> tuple[str, str]:
    """A second topic (another stack's) with a queue subscribed: its ARN and the queue's URL."""
    arn = stack.client("sns").create_topic(Name="pp-other-outcomes")["TopicArn"]
    return arn, subscribe(replace(stack, topic_arn=arn), "pp-other-subscriber", None)


def event_ids(stack: LocalStack, queue_url: str | None) -> list[Any]:
    assert queue_url is not None
    return [json.loads(m["Message"])["event_id"] for m in drain(stack, queue_url)]


def test_republish_with_only_a_stack_publishes_to_the_stacks_outcomes_topic(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployed stack whose outputs name the table and the outcomes topic
    deploy(stack, "pp-prod", RequestsTableName=stack.table, OutcomesTopicArn=stack.topic_arn)
    # When an operator republishes with nothing but --stack
    code, out, err = cli(capsys, "republish", "done", "--stack", "pp-prod", "--json")
    # Then the outcome goes to that stack's topic
    assert (code, err) == (0, "")
    assert json.loads(out) == {"request_id": "done", "event_id": "done:COMPLETED", "published": True}
    assert event_ids(stack, stack.queue_url) == ["done:COMPLETED"]


@pytest.mark.parametrize("given", ["--topic", "TOPIC_ARN"])
def test_a_topic_given_goes_before_the_stacks_output(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    # Given the stack (found by --stack for its table) names another topic than the one the operator gives
    other_arn, other_queue = another_topic(stack)
    deploy(stack, "pp-prod", RequestsTableName=stack.table, OutcomesTopicArn=other_arn)
    argv = ["republish", "done", "--stack", "pp-prod"]
    if given == "--topic":
        argv += ["--topic", stack.topic_arn]
    else:
        monkeypatch.setenv("TOPIC_ARN", stack.topic_arn)
    # When the operator republishes
    code, _, _ = cli(capsys, *argv)
    # Then the message goes to the topic given, and not to the stack's
    assert code == 0
    assert event_ids(stack, stack.queue_url) == ["done:COMPLETED"]
    assert event_ids(stack, other_queue) == []


def test_a_stack_without_an_outcomes_topic_is_one_error_line_and_exit_2(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stack that has the table output but no outcomes topic output (not a profile-poller stack, or an old one)
    deploy(stack, "half", RequestsTableName=stack.table)
    # When an operator republishes from it
    code, out, err = cli(capsys, "republish", "done", "--stack", "half")
    # Then one line names the stack and the output it lacks, and nothing is published
    assert (code, out) == (2, "")
    [line] = err.splitlines()
    assert line.startswith("profile-poller: ") and "'half'" in line and "OutcomesTopicArn" in line
    assert event_ids(stack, stack.queue_url) == []


def test_republish_with_no_topic_anywhere_says_how_to_give_one(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the table by name, but no --topic, no TOPIC_ARN and no --stack
    code, out, err = cli(capsys, "republish", "done", "--table", stack.table)
    # Then one line says first that there is no topic, then each way to give one, spelt as the operator types it
    assert (code, out) == (2, "")
    [line] = err.splitlines()
    assert line.startswith("profile-poller: no topic: ")
    assert "--topic" in line and "--stack" in line and "TOPIC_ARN" in line
    assert event_ids(stack, stack.queue_url) == []
