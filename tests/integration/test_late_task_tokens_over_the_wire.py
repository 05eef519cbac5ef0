"""The registration store's conditional token update on the moto server (review item 7): a pending item takes a
late registration's task token; a finished item is left exactly as it is and handed back with its outcome."""

from __future__ import annotations

from typing import Any

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import from_dynamo, to_dynamo
from profile_poller.adapters.registrations import DynamoRegistrationStore
from profile_poller.core.items import outcome_map
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.registration import pending_item

NOW = 1_800_000_000


def _item(stack: LocalStack, rid: str) -> dict[str, Any]:
    raw = stack.client("dynamodb").get_item(TableName=stack.table, Key=to_dynamo({"request_id": rid}))["Item"]
    return from_dynamo(raw)


def test_a_pending_item_takes_the_late_token(stack: LocalStack) -> None:
    store = DynamoRegistrationStore(stack.client("dynamodb"), stack.table)
    assert store.put_new(pending_item("r-1", kind=Kind.UPDATE, submitted_at=NOW, task_token="first"))
    assert store.adopt_token("r-1", "second") is None
    item = _item(stack, "r-1")
    assert item["task_token"] == "second" and item["status"] == "PENDING" and item["next_check_at"] == 0


def test_a_finished_item_is_untouched_and_handed_back_with_its_outcome(stack: LocalStack) -> None:
    store = DynamoRegistrationStore(stack.client("dynamodb"), stack.table)
    outcome = Outcome("r-2", Status.COMPLETED, Kind.UPDATE, NOW, NOW + 60, 2, update_count=4)
    finished = {"request_id": "r-2", "status": "COMPLETED", "outcome": outcome_map(outcome), "finished_at": NOW + 60}
    stack.client("dynamodb").put_item(TableName=stack.table, Item=to_dynamo(finished))
    existing = store.adopt_token("r-2", "late")
    assert existing is not None and existing["status"] == "COMPLETED"
    assert existing["outcome"]["update_count"] == 4
    assert "task_token" not in _item(stack, "r-2") and _item(stack, "r-2") == from_dynamo(to_dynamo(finished))
