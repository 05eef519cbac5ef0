"""A Step Functions callback the service answers with an error becomes CallbackUnavailable (try again) or
CallbackRefused (never), carrying the service's error code, clipped to 100 characters, and nothing else (botocore's
Stubber answers as the service would)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
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


class Answering:
    """A states endpoint whose every call raises `error` (the SDK's connection error, or an error answer)."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def _answer(self, **_: Any) -> None:
        raise self._error

    send_task_success = send_task_failure = send_task_heartbeat = _answer


CALLS: dict[str, Callable[[StepFunctionsCallbacks], None]] = {
    "success": lambda callbacks: callbacks.succeed(TOKEN, "{}"),
    "failure": lambda callbacks: callbacks.fail(TOKEN, "ProfileRequestFailed", "{}"),
    "heartbeat": lambda callbacks: callbacks.heartbeat(TOKEN),
}


@pytest.mark.parametrize("call", CALLS)
def test_a_states_endpoint_that_never_answers_is_unavailable_and_names_the_connection_error(call: str) -> None:
    unreachable = Answering(EndpointConnectionError(endpoint_url=f"https://states.example/{TOKEN}"))
    with pytest.raises(CallbackUnavailable) as unavailable:
        CALLS[call](StepFunctionsCallbacks(unreachable))
    assert unavailable.value.code == "EndpointConnectionError" and TOKEN not in str(unavailable.value)


@pytest.mark.parametrize("response", [{"Error": {"Message": "bad gateway"}}, {}], ids=["no-code", "no-error"])
def test_an_error_answer_without_a_code_is_unavailable_as_unknown(response: dict[str, Any]) -> None:
    # Given an error answer that names no error code (a proxy's bare 5xx)
    answering = Answering(ClientError(response, "SendTaskSuccess"))  # type: ignore[arg-type]
    # Then the callback is tried again later, counted under the code "Unknown"
    with pytest.raises(CallbackUnavailable) as unavailable:
        StepFunctionsCallbacks(answering).succeed(TOKEN, "{}")
    assert unavailable.value.code == "Unknown"
