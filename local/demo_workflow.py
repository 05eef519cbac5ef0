"""`make demo`, the doors of issue 19: a Step Functions workflow waiting on its task token and continuing with the
outcome (the example file, run by moto's executor in a server process of its own), and an EventBridge rule on the
outcome bus receiving outcome events."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import time
from typing import Any

from local.registration import create_registration, deliver
from local.simulator import Simulator, Step
from local.stack import LocalStack, aws_env, create_stack
from local.workflow import (
    OUTCOME_BUS,
    create_outcome_rule,
    create_workflow,
    executing_moto,
    finished,
    states_entered,
    wait_until,
)

FAILED_ONLY = {"detail": {"status": ["FAILED"]}}


def _later(seconds: float) -> float:
    return time.time() + seconds


def outcome_rule(stack: LocalStack) -> str:
    """The rule of docs/subscribers.md on the demo stack's outcome bus; returns its SQS target's URL."""
    return create_outcome_rule(stack, FAILED_ONLY, queue="demo-failed-outcomes")


def print_outcome_events(stack: LocalStack, url: str) -> None:
    sqs = stack.client("sqs")
    events: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        events += [json.loads(m["Body"]) for m in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    print(f"\nEventBridge rule {json.dumps(FAILED_ONLY)} on the outcome bus {OUTCOME_BUS}: {len(events)} event(s)")
    for event in sorted(events, key=lambda e: e["detail"]["request_id"]):
        detail = event["detail"]
        print(f"  {event['detail-type']} from {event['source']}: {detail['event_id']}  api_code={detail['api_code']}")


def workflow_demo(sim: Simulator, api_key: str, register_function: Any) -> None:
    """Two executions of the example workflow wait on their tokens; sweeps settle their requests; print both."""
    from profile_poller.entry.config import RegisterSettings, load_settings
    from profile_poller.entry.register import RegisterRuntime
    from profile_poller.entry.runtime import Runtime

    saved = dict(os.environ)
    print("\nStep Functions: examples/stepfunctions/wait-for-profile-request.asl.json on moto's executor")
    try:
        with executing_moto() as endpoint:
            os.environ.update(aws_env(endpoint))
            stack = create_stack(endpoint, api_key, subscribe_queue=False)
            registration = create_registration(stack)
            register_function.use_runtime(
                RegisterRuntime.build(RegisterSettings(stack.table, registration.rejected_url))
            )
            sfn = stack.client("stepfunctions")
            machine = create_workflow(sfn, registration.queue_url)
            sim.script("wf-demo-update", Step.pending(), Step.done_update(12, None))
            sim.script("wf-demo-get", Step.error(200, 3005, "Invalid Profile ID"))
            runs = {}
            for rid, kind in (("wf-demo-update", "update"), ("wf-demo-get", "get")):
                payload = json.dumps({"request_id": rid, "kind": kind, "correlation": {"workflow": "demo"}})
                runs[rid] = sfn.start_execution(stateMachineArn=machine, name=rid, input=payload)["executionArn"]
            sqs = stack.client("sqs")

            def queued() -> bool:
                attributes = sqs.get_queue_attributes(
                    QueueUrl=registration.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]
                return int(attributes["ApproximateNumberOfMessages"]) >= len(runs)

            wait_until(queued, "the workflows' registrations")
            with contextlib.redirect_stdout(io.StringIO()):  # the register function's EMF lines
                deliver(stack, registration, register_function.lambda_handler)
            for rid, arn in runs.items():
                status = sfn.describe_execution(executionArn=arn)["status"]
                print(f"  {rid:<16} {status:<9} waiting on its task token (registered through the queue)")
            settings = load_settings(stack.function_env(sim.base_url))
            for number, ahead in enumerate((0, 3600), start=1):
                runtime = Runtime.build(settings, clock=functools.partial(_later, ahead))
                summary = runtime.sweep(f"demo-workflow-{number}", lambda: 600_000).as_dict()
                keys = ("still_pending", "heartbeats", "completed", "failed", "callbacks_delivered")
                print(f"  sweep {number}: {json.dumps({k: summary[k] for k in keys if summary[k]})}")
            for rid, arn in runs.items():
                described = finished(sfn, arn)
                output = json.loads(described["output"])
                last = states_entered(sfn, arn)[-1]
                if "error" in output:
                    print(f"  {rid:<16} {described['status']:<9} Catch {output['error']['Error']} -> {last}")
                else:
                    shown = {k: output[k] for k in ("status", "update_count", "event_id")}
                    status = described["status"]
                    print(f"  {rid:<16} {status:<9} continued with the outcome -> {last}: {json.dumps(shown)}")
    finally:
        register_function.use_runtime(None)
        os.environ.clear()
        os.environ.update(saved)
