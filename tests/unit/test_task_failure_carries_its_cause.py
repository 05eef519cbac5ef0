"""SendTaskFailure carries the error name (clipped to Step Functions' 256 characters) and the cause (the outcome
message) to the waiting execution: checked against botocore's Stubber, which validates the call against the service
model (moto, the integration tests' server, drops the cause)."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.stub import Stubber

from profile_poller.adapters.stepfunctions import StepFunctionsCallbacks


def stepfunctions() -> Any:
    return boto3.client(
        "stepfunctions", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def test_a_failure_callback_sends_the_token_the_error_and_the_cause() -> None:
    client = stepfunctions()
    token = "a-task-token-" + "t" * 40
    cause = json.dumps({"event_id": "r-1:FAILED", "status": "FAILED"})
    with Stubber(client) as stub:
        stub.add_response(
            "send_task_failure", {}, {"taskToken": token, "error": "ProfileRequestFailed", "cause": cause}
        )
        StepFunctionsCallbacks(client).fail(token, "ProfileRequestFailed", cause)
        stub.assert_no_pending_responses()


def test_an_error_name_over_256_characters_is_clipped_and_the_cause_kept_whole() -> None:
    client = stepfunctions()
    cause = "c" * 30_000
    with Stubber(client) as stub:
        stub.add_response("send_task_failure", {}, {"taskToken": "tok-" + "t" * 40, "error": "E" * 256, "cause": cause})
        StepFunctionsCallbacks(client).fail("tok-" + "t" * 40, "E" * 300, cause)
        stub.assert_no_pending_responses()
