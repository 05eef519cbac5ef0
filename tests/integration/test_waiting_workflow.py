"""The example workflow, executed (issue 19): examples/stepfunctions/wait-for-profile-request.asl.json runs on a
moto server that executes state machines (its own process, MOTO_PORT set, execute_state_machine on). The task
sends the registration to the queue with `$$.Task.Token` and waits; the registration function consumes the
queue, sweeps ask the simulator, and the poller's callbacks move the executions on."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.registration import Registration, create_registration, deliver
from local.simulator import Simulator, Step
from local.stack import LocalStack, aws_env, create_stack, drain
from local.workflow import configure, create_workflow, executing_moto, finished, states_entered, wait_until
from profile_poller.adapters.dynamo_items import from_dynamo
from profile_poller.adapters.stepfunctions import StepFunctionsCallbacks
from profile_poller.core.ports import CallbackRefused
from profile_poller.entry.config import RegisterSettings, load_settings
from profile_poller.entry.register import RegisterRuntime
from profile_poller.entry.runtime import Runtime
from tests.conftest import API_KEY
from tests.integration.test_registration import load_function

DAY = 86_400


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


@pytest.fixture
def registration(world: LocalStack) -> Registration:
    return create_registration(world)


@pytest.fixture
def register_function(world: LocalStack, registration: Registration) -> Iterator[Any]:
    module = load_function()
    module.use_runtime(RegisterRuntime.build(RegisterSettings(world.table, registration.rejected_url)))
    yield module.lambda_handler
    module.use_runtime(None)


def sweep(world: LocalStack, sim: Simulator, ahead: int = 0) -> dict[str, object]:
    settings = load_settings(world.function_env(sim.base_url))
    runtime = Runtime.build(settings, clock=lambda: time.time() + ahead)
    return runtime.sweep("it-sweep", lambda: 600_000).as_dict()


def item(world: LocalStack, rid: str) -> dict[str, Any]:
    raw = world.client("dynamodb").get_item(TableName=world.table, Key={"request_id": {"S": rid}})["Item"]
    return from_dynamo(raw)


def start(sfn: Any, machine: str, rid: str, kind: str = "update") -> str:
    payload = {"request_id": rid, "kind": kind, "correlation": {"order": rid}}
    arn: str = sfn.start_execution(stateMachineArn=machine, name=rid, input=json.dumps(payload))["executionArn"]
    return arn


def queued_count(world: LocalStack, registration: Registration) -> int:
    attributes = world.client("sqs").get_queue_attributes(
        QueueUrl=registration.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_the_workflow_waits_and_continues_with_each_outcome(
    world: LocalStack, registration: Registration, register_function: Any, sim: Simulator
) -> None:
    # Given three executions of the example workflow, each waiting on its task token
    sfn = world.client("stepfunctions")
    machine = create_workflow(sfn, registration.queue_url)
    sim.script("wf-done", Step.pending(), Step.done_update(3, None))
    sim.script("wf-failed", Step.error(200, 3005, "Invalid Profile ID"))
    sim.script("wf-expired", Step.pending(), Step.pending())
    runs = {rid: start(sfn, machine, rid) for rid in ("wf-done", "wf-failed", "wf-expired")}
    wait_until(lambda: queued_count(world, registration) >= 3, "the three task messages on the queue")
    # When the registration function consumes the queue
    assert deliver(world, registration, register_function) == [{"batchItemFailures": []}]
    assert {item(world, rid)["task_token"] != "" for rid in runs} == {True}
    # And a first sweep finds two still pending (heartbeats) and one failed
    first = sweep(world, sim)
    assert first["heartbeats"] == 2 and first["failed"] == 1 and first["callbacks_delivered"] == 1
    # And a later sweep, past MAX_AGE_SECONDS, finds one completed and one still pending (expired)
    second = sweep(world, sim, ahead=3 * DAY)
    assert second["completed"] == 1 and second["expired"] == 1 and second["callbacks_delivered"] == 2
    # Then the COMPLETED execution succeeded with the outcome message (the SNS body, exactly) as output
    assert world.queue_url is not None
    sns = {json.loads(m["Message"])["request_id"]: m["Message"] for m in drain(world, world.queue_url)}
    done = finished(sfn, runs["wf-done"])
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == json.loads(sns["wf-done"])
    assert states_entered(sfn, runs["wf-done"])[-2:] == ["IsCompleted", "Completed"]
    # And the FAILED and EXPIRED ones took their Catch with the poller's error names
    for rid, error, state in (
        ("wf-failed", "ProfileRequestFailed", "RequestFailed"),
        ("wf-expired", "ProfileRequestExpired", "RequestExpired"),
    ):
        described = finished(sfn, runs[rid])
        assert described["status"] == "SUCCEEDED", rid
        assert json.loads(described["output"])["error"]["Error"] == error
        assert states_entered(sfn, runs[rid])[-1] == state
    # And every finished item records the delivery and keeps no token
    for rid in runs:
        stored = item(world, rid)
        assert stored["task_callback"] == {"result": "delivered"} and "task_token" not in stored


def test_an_execution_that_timed_out_does_not_hold_the_request_back(
    world: LocalStack, registration: Registration, register_function: Any, sim: Simulator
) -> None:
    # Given the example workflow with TimeoutSeconds 2 and HeartbeatSeconds 1 (the only change to the file)
    sfn = world.client("stepfunctions")
    machine = create_workflow(sfn, registration.queue_url, name="short", TimeoutSeconds=2, HeartbeatSeconds=1)
    run = start(sfn, machine, "wf-late")
    wait_until(lambda: queued_count(world, registration) >= 1, "the task message on the queue")
    deliver(world, registration, register_function)
    # And the execution took its States.Timeout Catch before the request finished
    described = finished(sfn, run)
    assert json.loads(described["output"])["error"]["Error"] == "States.Timeout"
    assert states_entered(sfn, run)[-1] == "NoOutcomeInTime"
    # When the request completes
    sim.script("wf-late", Step.done_update(1, None))
    summary = sweep(world, sim)
    # Then it is stored, published and finished; the refusal is on the item and counted
    stored = item(world, "wf-late")
    assert stored["status"] == "COMPLETED" and "task_token" not in stored
    assert stored["task_callback"]["result"] == "refused"
    assert stored["task_callback"]["error"] in {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}
    assert summary["callbacks_refused"] == 1 and summary["completed"] == 1
    assert world.queue_url is not None
    assert [json.loads(m["Message"])["request_id"] for m in drain(world, world.queue_url)] == ["wf-late"]


def test_a_token_step_functions_does_not_know_is_refused_over_the_wire(world: LocalStack) -> None:
    callbacks = StepFunctionsCallbacks(world.client("stepfunctions"))
    token = "not-a-task-token-" + "x" * 40
    with pytest.raises(CallbackRefused) as refused:
        callbacks.succeed(token, "{}")
    with pytest.raises(CallbackRefused) as heartbeat:
        callbacks.heartbeat(token)
    for caught in (refused, heartbeat):
        assert caught.value.code == "InvalidToken" and token not in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__suppress_context__  # the SDK's text is not chained
