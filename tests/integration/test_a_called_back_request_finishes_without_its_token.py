"""Finishing a request whose workflow was called back (issue 19), on the moto server: the item keeps what became of
the callback and drops the task token, in the same guarded write as the outcome; a sweep that does not hold the lease
writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.adapters.dynamodb import DynamoRequestStore
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.ports import LeaseLost
from profile_poller.core.schedule import check_at
from profile_poller.entry.producer import register

NOW = 1_700_000_000  # in the past: the producer helper refuses a submitted_at ahead of its clock
TOKEN = "a-task-token-" + "k" * 40


def raw(stack: LocalStack, rid: str) -> dict[str, Any]:
    item: dict[str, Any] = stack.client("dynamodb").get_item(TableName=stack.table, Key=to_dynamo({"request_id": rid}))[
        "Item"
    ]
    return item


def test_a_called_back_request_keeps_the_callbacks_result_and_drops_its_token(table_stack: LocalStack) -> None:
    # Given a claimed request registered with a task token
    store = DynamoRequestStore(table_stack.client("dynamodb"), table_stack.table, page_size=3)
    register(table_stack.client("dynamodb"), table_stack.table, "cb-1", submitted_at=NOW, task_token=TOKEN)
    [due] = [d for d in store.due_ids("0", NOW) if d.request_id == "cb-1"]
    store.claim(due, "a", NOW, check_at(NOW + 900, 1), 1)
    outcome = Outcome("cb-1", Status.COMPLETED, Kind.GET, NOW, NOW + 5, 1, update_count=0, error_count=0)
    # When another sweep tries to finish it, nothing is written
    with pytest.raises(LeaseLost):
        store.finish_called_back(outcome, "intruder", NOW + 86_400, {"result": "delivered"})
    assert raw(table_stack, "cb-1")["task_token"]["S"] == TOKEN
    # When the holder finishes it, called back
    store.finish_called_back(outcome, "a", NOW + 86_400, {"result": "delivered"})
    # Then the outcome and the callback's result are stored, and the token is gone
    stored = raw(table_stack, "cb-1")
    assert stored["status"]["S"] == "COMPLETED" and stored["task_callback"] == {"M": {"result": {"S": "delivered"}}}
    assert "task_token" not in stored and "lease_owner" not in stored and "due_shard" not in stored
    assert stored["expires_at"]["N"] == str(NOW + 86_400)
