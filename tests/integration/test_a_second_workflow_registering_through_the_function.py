"""A second workflow registers a request the table knows, through the registration function as it is built for
Lambda (RegisterRuntime.build on the moto server): a pending request takes the new task token; a finished one is
called back at once, and its record is done, not returned to the queue. (The core logic of it, with fakes:
tests/unit/test_a_second_workflow_for_a_known_request_is_called_back.py.)"""

from __future__ import annotations

import json
from types import ModuleType

from local.registration import Registration, deliver, queued
from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.core.items import outcome_map
from profile_poller.core.model import Kind, Outcome, Status
from tests.integration.test_registration import NOW, function, items, registration

__all__ = ["function", "registration"]  # fixtures, imported by name

FIRST, SECOND = "first-workflow-token-" + "a" * 30, "second-workflow-token-" + "b" * 30


def send(stack: LocalStack, registration: Registration, request_id: str, token: str) -> None:
    body = json.dumps({"request_id": request_id, "kind": "update", "task_token": token})
    stack.client("sqs").send_message(QueueUrl=registration.queue_url, MessageBody=body)


def test_a_pending_request_takes_the_second_workflows_token(
    stack: LocalStack, registration: Registration, function: ModuleType
) -> None:
    # Given a request registered by a first workflow
    send(stack, registration, "wf-pending", FIRST)
    assert deliver(stack, registration, function.lambda_handler) == [{"batchItemFailures": []}]
    # When a second workflow registers it again
    send(stack, registration, "wf-pending", SECOND)
    # Then its record is done and the request will call back the second workflow (the latest wins)
    assert deliver(stack, registration, function.lambda_handler) == [{"batchItemFailures": []}]
    stored = items(stack)["wf-pending"]
    assert stored["task_token"] == SECOND and stored["status"] == "PENDING"


def test_a_finished_request_is_called_back_at_once_and_its_record_is_done(
    stack: LocalStack, registration: Registration, function: ModuleType
) -> None:
    # Given a request that failed before the second workflow came (Step Functions refuses the unknown token)
    outcome = Outcome("wf-done", Status.FAILED, Kind.UPDATE, NOW - 600, NOW - 60, 3, error_count=1)
    finished = {"request_id": "wf-done", "status": "FAILED", "outcome": outcome_map(outcome), "finished_at": NOW}
    stack.client("dynamodb").put_item(TableName=stack.table, Item=to_dynamo(finished))
    # When a second workflow registers it
    send(stack, registration, "wf-done", SECOND)
    # Then the callback is made at once: the record is not returned to the queue, nor rejected, nor retried
    assert deliver(stack, registration, function.lambda_handler) == [{"batchItemFailures": []}]
    assert queued(stack, registration.queue_url) == [] and queued(stack, registration.rejected_url) == []
    assert items(stack)["wf-done"]["status"] == "FAILED" and "task_token" not in items(stack)["wf-done"]
