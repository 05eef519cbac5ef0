"""Registration by event in the template: the bus, the rule, the queues, the function and its least privilege."""

from __future__ import annotations

import json
from typing import Any

from local.registration import MAX_RECEIVE_COUNT
from profile_poller.core.registration import DETAIL_TYPE


def props(cfn: dict[str, Any], logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = cfn["Resources"][logical_id]["Properties"]
    return properties


def role_statements(cfn: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    return {
        s["Sid"]: s
        for p in props(cfn, role)["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        if isinstance(s, dict) and "Sid" in s
    }


def test_the_rule_sends_submitted_events_from_the_bus_to_the_queue(cfn: dict[str, Any]) -> None:
    rule = props(cfn, "RegistrationRule")
    assert rule["EventBusName"] == {"Ref": "RegistrationBus"}
    assert rule["EventPattern"] == {"detail-type": [DETAIL_TYPE]}
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["RegistrationQueue", "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["RegistrationDeadLetterQueue", "Arn"]}
    # only this rule may send to the queue
    [allow] = [
        s for s in props(cfn, "RegistrationQueuePolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["RegistrationRule", "Arn"]}}}


def test_the_queue_dead_letters_after_a_few_receives_and_outlives_the_function(cfn: dict[str, Any]) -> None:
    queue = props(cfn, "RegistrationQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["RegistrationDeadLetterQueue", "Arn"]},
        "maxReceiveCount": MAX_RECEIVE_COUNT,  # what the local tests exercise
    }
    assert queue["VisibilityTimeout"] >= 6 * props(cfn, "RegisterFunction")["Timeout"]


def test_the_function_reports_partial_batch_failures(cfn: dict[str, Any]) -> None:
    [mapping] = [r["Properties"] for r in cfn["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mapping["FunctionName"] == {"Ref": "RegisterFunction"}
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["RegistrationQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    fn = props(cfn, "RegisterFunction")
    assert fn["Handler"] == "app.lambda_handler"
    assert fn["Layers"] == props(cfn, "PollerFunction")["Layers"]  # the same layer version
    assert fn["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "RequestsTable"}
    assert fn["Environment"]["Variables"]["REJECTED_QUEUE_URL"] == {"Ref": "RejectedRegistrationsQueue"}
    assert fn["Environment"]["Variables"]["DUE_SHARDS"] == {"Ref": "DueShards"}  # same shards as the sweep reads


def test_the_function_may_only_put_new_items_adopt_late_tokens_and_keep_rejects(cfn: dict[str, Any]) -> None:
    by_sid = role_statements(cfn, "RegisterRole")
    assert by_sid["PutNewRequests"]["Action"] == "dynamodb:PutItem"
    assert by_sid["PutNewRequests"]["Resource"] == {"Fn::GetAtt": ["RequestsTable", "Arn"]}
    # a duplicate registration with a task token (review item 7): the token on a pending item, or a callback
    assert by_sid["AdoptLateTaskTokens"]["Action"] == "dynamodb:UpdateItem"
    assert by_sid["AdoptLateTaskTokens"]["Resource"] == {"Fn::GetAtt": ["RequestsTable", "Arn"]}
    assert by_sid["CallBackLateWorkflows"]["Action"] == ["states:SendTaskSuccess", "states:SendTaskFailure"]
    assert by_sid["KeepRejectedRecords"]["Action"] == "sqs:SendMessage"
    assert by_sid["KeepRejectedRecords"]["Resource"] == {"Fn::GetAtt": ["RejectedRegistrationsQueue", "Arn"]}
    assert by_sid["ConsumeRegistrations"]["Resource"] == {"Fn::GetAtt": ["RegistrationQueue", "Arn"]}
    actions = json.dumps([s["Action"] for sid, s in by_sid.items() if sid != "AdoptLateTaskTokens"])
    for never in ("UpdateItem", "DeleteItem", "sns:", "s3:", "secretsmanager:", "Heartbeat", '*"'):
        assert never not in actions
    assert [sid for sid, s in by_sid.items() if s["Resource"] == "*"] == ["CallBackLateWorkflows", "Tracing"]
