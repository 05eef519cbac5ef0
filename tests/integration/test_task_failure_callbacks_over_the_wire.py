"""Task callbacks over the wire (issue 19): a token Step Functions does not know is refused on SendTaskFailure as on
the others, and a Step Functions that cannot be reached is unavailable (try again), not refused. The server is a moto
server that executes state machines. (moto drops SendTaskFailure's `cause`: that the call carries it is checked
against botocore's Stubber in tests/unit/test_task_failure_carries_its_cause.py.)"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import boto3
import pytest
import requests
from botocore.config import Config

from local.stack import REGION, LocalStack, aws_env, create_stack
from local.workflow import configure, executing_moto
from profile_poller.adapters.stepfunctions import StepFunctionsCallbacks
from profile_poller.core.ports import CallbackRefused, CallbackUnavailable
from tests.conftest import API_KEY


@pytest.fixture(scope="module")
def executing() -> Iterator[str]:
    with executing_moto() as endpoint:
        yield endpoint


@pytest.fixture
def world(executing: str, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    requests.post(f"{executing}/moto-api/reset", timeout=10).raise_for_status()
    configure(executing)
    for name, value in aws_env(executing).items():
        monkeypatch.setenv(name, value)
    return create_stack(executing, API_KEY)


def test_a_failure_callback_with_a_token_step_functions_does_not_know_is_refused(world: LocalStack) -> None:
    token = "not-a-task-token-" + "y" * 40
    with pytest.raises(CallbackRefused) as refused:
        StepFunctionsCallbacks(world.client("stepfunctions")).fail(token, "ProfileRequestFailed", "{}")
    assert refused.value.code == "InvalidToken" and token not in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: a connection to it is refused


@pytest.mark.parametrize("call", ["succeed", "fail", "heartbeat"])
def test_a_step_functions_that_cannot_be_reached_is_unavailable_not_refused(call: str) -> None:
    # Given a client of an endpoint where nothing listens (one attempt, no retries)
    client = boto3.client(
        "stepfunctions",
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=1),
    )
    callbacks = StepFunctionsCallbacks(client)
    token = "a-task-token-" + "z" * 40
    # When a callback is made, then it is unavailable (the next sweep tries again), named by the SDK error's type
    calls = {
        "succeed": lambda: callbacks.succeed(token, "{}"),
        "fail": lambda: callbacks.fail(token, "ProfileRequestFailed", "{}"),
        "heartbeat": lambda: callbacks.heartbeat(token),
    }
    with pytest.raises(CallbackUnavailable) as unavailable:
        calls[call]()
    assert unavailable.value.code == "EndpointConnectionError" and token not in str(unavailable.value)
    assert unavailable.value.__cause__ is None
