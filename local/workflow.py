"""The example workflow (examples/stepfunctions/wait-for-profile-request.asl.json) on a moto server that runs
state machines: a server of its own, in its own process, started with MOTO_PORT set to its port (moto's executor
calls the services back on that port), and `execute_state_machine` switched on through /moto-api/config.

Used by the integration test of the callback door and by `make demo`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from local.stack import ACCOUNT, LOCAL_NAMES, REGION, LocalStack, aws_env, free_port, wait_listening

ROOT = Path(__file__).resolve().parents[1]
ASL = ROOT / "examples/stepfunctions/wait-for-profile-request.asl.json"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/wait-for-profile-request"  # moto does not check the role
OUTCOME_BUS = LOCAL_NAMES["OutcomeBus"]  # template.yaml: OutcomeBus (created by create_stack)


@contextmanager
def executing_moto() -> Iterator[str]:
    """A moto server in its own process that executes state machines; yields its endpoint."""
    port = free_port()
    env = {**os.environ, **aws_env(f"http://127.0.0.1:{port}"), "MOTO_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        endpoint = f"http://127.0.0.1:{port}"
        configure(endpoint)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine: an execution's thread can hold moto past SIGTERM
            proc.kill()
            proc.wait(timeout=10)


def configure(endpoint: str) -> None:
    """Switch the executor on (again after a /moto-api/reset)."""
    answer = requests.post(
        f"{endpoint}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
    )
    answer.raise_for_status()


def definition(queue_url: str, **overrides: Any) -> str:
    """The example file as SAM's DefinitionSubstitutions would deploy it, with the task's fields overridden
    (a test shortens TimeoutSeconds)."""
    data = json.loads(ASL.read_text().replace("${RegistrationQueueUrl}", queue_url))
    data["States"]["WaitForProfileRequest"].update(overrides)
    return json.dumps(data)


def create_workflow(sfn: Any, queue_url: str, name: str = "wait-for-profile-request", **overrides: Any) -> str:
    arn: str = sfn.create_state_machine(name=name, definition=definition(queue_url, **overrides), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn


def wait_until(done: Any, what: str, timeout: float = 30.0) -> Any:
    """Poll `done()` until it returns something truthy (the executor runs in the server's threads)."""
    deadline = time.monotonic() + timeout
    while True:
        value = done()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout}s")
        time.sleep(0.05)  # waiting on the moto server's executor, not timing a test


def finished(sfn: Any, execution_arn: str, timeout: float = 30.0) -> dict[str, Any]:
    """describe_execution once the execution has left RUNNING."""

    def done() -> dict[str, Any] | None:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        return None if described["status"] == "RUNNING" else described

    result: dict[str, Any] = wait_until(done, f"execution {execution_arn} to end", timeout)
    return result


def states_entered(sfn: Any, execution_arn: str) -> list[str]:
    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def create_outcome_rule(stack: LocalStack, pattern: dict[str, Any], queue: str = "outcome-events") -> str:
    """The outcome bus (if missing) and a rule on it whose target is a new SQS queue; returns the queue's URL.
    moto delivers a matching event to an SQS target with the whole event as the body."""
    events, sqs = stack.client("events"), stack.client("sqs")
    if OUTCOME_BUS not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}:
        events.create_event_bus(Name=OUTCOME_BUS)
    url: str = sqs.create_queue(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"{queue}-rule", EventBusName=OUTCOME_BUS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"{queue}-rule", EventBusName=OUTCOME_BUS, Targets=[{"Id": queue, "Arn": arn}])
    return url


__all__ = [
    "ASL",
    "OUTCOME_BUS",
    "REGION",
    "configure",
    "create_outcome_rule",
    "create_workflow",
    "executing_moto",
    "finished",
    "states_entered",
]
