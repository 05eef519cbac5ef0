"""A Step Functions callback the service answers with an error becomes CallbackUnavailable (try again) or
CallbackRefused (never), carrying the service's error code, clipped to 100 characters, and nothing else (botocore's
Stubber answers as the service would)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from profile_poller.adapters.stepfunctions import StepFunctionsCallbacks
from profile_poller.core.ports import CallbackRefused, CallbackUnavailable

TOKEN = "a-task-token-" + "t" * 40


def stepfunctions() -> Any:
    return boto3.client(
        "stepfunctions", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.mark.parametrize("code", ["ThrottlingException", "ServiceUnavailable", "AccessDeniedException"])
def test_a_transient_answer_is_unavailable_with_its_code(code: str) -> None:
    client = stepfunctions()
    with Stubber(client) as stub:
        stub.add_client_error("send_task_success", service_error_code=code, service_message=f"about {TOKEN}")
        with pytest.raises(CallbackUnavailable) as unavailable:
            StepFunctionsCallbacks(client).succeed(TOKEN, "{}")
    assert unavailable.value.code == code and TOKEN not in str(unavailable.value)


def test_a_refusal_on_the_failure_callback_is_refused_with_its_code() -> None:
    client = stepfunctions()
    with Stubber(client) as stub:
        stub.add_client_error("send_task_failure", service_error_code="TaskTimedOut", service_message=TOKEN)
        with pytest.raises(CallbackRefused) as refused:
            StepFunctionsCallbacks(client).fail(TOKEN, "ProfileRequestFailed", "{}")
    assert refused.value.code == "TaskTimedOut" and TOKEN not in str(refused.value)


def test_an_error_code_over_100_characters_is_clipped_to_100() -> None:
    client = stepfunctions()
    with Stubber(client) as stub:
        stub.add_client_error("send_task_heartbeat", service_error_code="Q" * 150)
        with pytest.raises(CallbackUnavailable) as unavailable:
            StepFunctionsCallbacks(client).heartbeat(TOKEN)
    assert unavailable.value.code == "Q" * 100
