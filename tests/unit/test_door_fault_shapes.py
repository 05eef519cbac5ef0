"""The fault proxy knows the issue 19 calls: EventBridge PutEvents and Step Functions callbacks are recognised from
their signed headers, and their faults have the JSON shapes botocore parses into the right error codes."""

from __future__ import annotations

import json

import botocore.session
from botocore.parsers import create_parser

from local import awscalls
from local.awscalls import Call


def signed(service: str, target: str) -> dict[str, str]:
    scope = f"AWS4-HMAC-SHA256 Credential=AKID/20261206/eu-west-1/{service}/aws4_request, SignedHeaders=host"
    return {"authorization": scope, "x-amz-target": target}


def parsed(service: str, operation: str, answer: awscalls.Answer) -> dict[str, object]:
    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    parser = create_parser(model.metadata["protocol"])
    response = {"status_code": answer.status, "headers": answer.headers, "body": answer.body}
    assert model.output_shape is not None
    result: dict[str, object] = parser.parse(response, model.output_shape)
    return result


def test_put_events_and_the_callbacks_are_recognised() -> None:
    assert awscalls.recognise("POST", "/", signed("events", "AWSEvents.PutEvents"), b"{}") == Call(
        "events", "PutEvents"
    )
    for operation in ("SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"):
        headers = signed("states", f"AWSStepFunctions.{operation}")
        assert awscalls.recognise("POST", "/", headers, b"{}") == Call("states", operation)


def test_a_throttle_and_a_server_error_parse_as_botocore_retries_them() -> None:
    throttled = parsed("stepfunctions", "SendTaskSuccess", awscalls.throttle(Call("states", "SendTaskSuccess")))
    assert throttled["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
    failed = parsed("events", "PutEvents", awscalls.server_error(Call("events", "PutEvents")))
    assert failed["Error"]["Code"] == "InternalException"  # type: ignore[index]


def test_a_put_events_answer_with_refused_entries_counts_them() -> None:
    answer = awscalls.put_events_answer([{"EventId": "e1"}, {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}])
    body = parsed("events", "PutEvents", answer)
    assert body["FailedEntryCount"] == 1 and json.loads(answer.body)["Entries"][1]["ErrorCode"] == "InternalFailure"
