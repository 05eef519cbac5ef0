"""Faults on the issue 19 doors, injected over the wire by the fault proxy: an outcome event EventBridge refuses on
its own, and a Step Functions callback that is throttled past botocore's retries. Each keeps its request pending;
the next sweep delivers, with the same event_id."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.faultproxy import FaultProxy, Rule, ops
from local.registration import create_registration, deliver
from local.simulator import Simulator, Step
from local.stack import LocalStack, aws_env, create_stack, drain
from local.workflow import (
    OUTCOME_BUS,
    configure,
    create_outcome_rule,
    create_workflow,
    executing_moto,
    finished,
    wait_until,
)
from profile_poller.adapters.dynamo_items import from_dynamo
from profile_poller.entry.aws import AwsPolicy
from profile_poller.entry.config import RegisterSettings, load_settings
from profile_poller.entry.register import RegisterRuntime
from profile_poller.entry.runtime import Runtime
from tests.conftest import API_KEY
from tests.integration.faults import proxy
from tests.integration.test_registration import load_function

__all__ = ["proxy"]


def sweep(stack: LocalStack, sim: Simulator, via: FaultProxy, ahead: float = 0, **env: str) -> dict[str, object]:
    settings = load_settings(stack.function_env(sim.base_url, **env))
    runtime = Runtime.build(settings, clock=lambda: time.time() + ahead, aws=AwsPolicy(endpoint_url=via.url))
    return runtime.sweep("faulted", lambda: 600_000).as_dict()


def status(stack: LocalStack, rid: str) -> str:
    raw = stack.client("dynamodb").get_item(TableName=stack.table, Key={"request_id": {"S": rid}})["Item"]
    return str(from_dynamo(raw)["status"])


def test_an_outcome_event_refused_on_its_own_is_put_again_by_the_next_sweep(
    stack: LocalStack, sim: Simulator, proxy: FaultProxy
) -> None:
    # Given three finished requests and EventBridge refusing some entries of the first PutEvents
    every = create_outcome_rule(stack, {"source": ["profile-poller"]})
    for rid in ("pe-1", "pe-2", "pe-3"):
        stack.client("dynamodb").put_item(
            TableName=stack.table,
            Item={
                "request_id": {"S": rid},
                "status": {"S": "PENDING"},
                "due_shard": {"S": "0"},
                "next_check_at": {"N": "0"},
            },
        )
        sim.script(rid, Step.done_update(1, None))
    proxy.set_rules([Rule("events", "partial", operations=ops("PutEvents"), times=1)])
    # When a sweep runs
    first = sweep(stack, sim, proxy, OUTCOME_BUS_NAME=OUTCOME_BUS)
    refused = int(str(first["publish_failures"]))
    # Then the refused ones stay pending, the others are finished
    assert proxy.injected[("events", "PutEvents", "partial")] == 1 and refused >= 1
    assert sorted(status(stack, r) for r in ("pe-1", "pe-2", "pe-3")).count("PENDING") == refused
    # And the next sweep puts them again and finishes every request
    second = sweep(stack, sim, proxy, ahead=60, OUTCOME_BUS_NAME=OUTCOME_BUS)
    assert second["completed"] == refused and {status(stack, r) for r in ("pe-1", "pe-2", "pe-3")} == {"COMPLETED"}
    sqs = stack.client("sqs")
    bodies = []
    while batch := sqs.receive_message(QueueUrl=every, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [json.loads(m["Body"])["detail"]["event_id"] for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=every, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(bodies) == ["pe-1:COMPLETED", "pe-2:COMPLETED", "pe-3:COMPLETED"]  # each once, by this door
    assert stack.queue_url is not None  # SNS took them all the first time, and is not sent them again
    sns = [json.loads(m["Message"])["event_id"] for m in drain(stack, stack.queue_url)]
    assert sorted(sns) == sorted(bodies)  # each once: only the door that refused gets the outcome again


@pytest.fixture(scope="module")
def executing() -> Iterator[str]:
    with executing_moto() as endpoint:
        yield endpoint


@pytest.fixture
def workflow_stack(executing: str, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    requests.post(f"{executing}/moto-api/reset", timeout=10).raise_for_status()
    configure(executing)
    for name, value in aws_env(executing).items():
        monkeypatch.setenv(name, value)
    return create_stack(executing, API_KEY)


def test_a_callback_throttled_past_the_retries_is_made_by_the_next_sweep(
    workflow_stack: LocalStack, sim: Simulator
) -> None:
    # Given an execution of the example workflow waiting on its token, its request answered COMPLETED
    stack = workflow_stack
    registration = create_registration(stack)
    sfn = stack.client("stepfunctions")
    run = sfn.start_execution(
        stateMachineArn=create_workflow(sfn, registration.queue_url),
        name="th-1",
        input=json.dumps({"request_id": "th-1", "kind": "update", "correlation": {}}),
    )["executionArn"]
    register_function: Any = load_function()
    register_function.use_runtime(RegisterRuntime.build(RegisterSettings(stack.table, registration.rejected_url)))
    try:
        wait_until(lambda: deliver(stack, registration, register_function.lambda_handler), "the task's registration")
    finally:
        register_function.use_runtime(None)
    sim.script("th-1", Step.done_update(4, None))
    # And Step Functions throttling every attempt botocore makes of the first SendTaskSuccess
    with FaultProxy(stack.endpoint, [Rule("states", "throttle", operations=ops("SendTaskSuccess"), times=4)]) as via:
        first = sweep(stack, sim, via)
        # Then the request stays pending and the execution keeps waiting
        assert first["callback_failures"] == 1 and status(stack, "th-1") == "PENDING"
        assert via.injected[("states", "SendTaskSuccess", "throttle")] == 4
        assert sfn.describe_execution(executionArn=run)["status"] == "RUNNING"
        # And the next sweep publishes the same outcome again and calls back: the execution continues
        second = sweep(stack, sim, via, ahead=60)
    assert second["callbacks_delivered"] == 1 and status(stack, "th-1") == "COMPLETED"
    described = finished(sfn, run)
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"])["event_id"] == "th-1:COMPLETED"
