"""The template's side of issue 19: the outcome bus, its output and environment variable, the poller allowed
to put events on that bus alone, and a workflow policy that lets a state machine register through the queue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def test_the_outcome_bus_is_the_stacks_own_and_named_in_an_output(cfn: dict[str, Any]) -> None:
    bus = cfn["Resources"]["OutcomeBus"]
    assert bus["Type"] == "AWS::Events::EventBus"
    assert bus["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-outcomes"}
    assert cfn["Outputs"]["OutcomeBusName"]["Value"] == {"Ref": "OutcomeBus"}


def test_a_workflow_may_send_to_the_registration_queue_and_nothing_else(cfn: dict[str, Any]) -> None:
    policy = cfn["Resources"]["WorkflowPolicy"]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": ["RegistrationQueue", "Arn"]}
    # no KMS permission is needed only because the queue uses SQS-managed keys
    queue = cfn["Resources"]["RegistrationQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and "KmsMasterKeyId" not in queue
    assert cfn["Outputs"]["WorkflowPolicyArn"]["Value"] == {"Ref": "WorkflowPolicy"}


def test_the_example_workflow_sends_the_registration_detail_with_its_task_token() -> None:
    asl = json.loads((ROOT / "examples/stepfunctions/wait-for-profile-request.asl.json").read_text())
    task = asl["States"][asl["StartAt"]]
    assert task["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    assert task["Parameters"]["QueueUrl"] == "${RegistrationQueueUrl}"
    assert task["Parameters"]["MessageBody"]["task_token.$"] == "$$.Task.Token"
    assert set(task["Parameters"]["MessageBody"]) == {"request_id.$", "kind.$", "correlation.$", "task_token.$"}
    assert 0 < task["HeartbeatSeconds"] < task["TimeoutSeconds"]
    caught = {error for c in task["Catch"] for error in c["ErrorEquals"]}
    assert caught == {"ProfileRequestFailed", "ProfileRequestExpired", "States.Timeout"}
