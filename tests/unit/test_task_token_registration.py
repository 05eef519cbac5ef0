"""The optional `task_token` through every door of registration (issue 19): the bus event's detail, a bare detail
on the queue (what `sqs:sendMessage.waitForTaskToken` sends), the producer helper's item. A credential: stored on
the item, shown as "set", never echoed in a rejection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from profile_poller.core.items import PendingRequest
from profile_poller.core.model import Kind
from profile_poller.core.registration import (
    InvalidTaskToken,
    Rejected,
    Result,
    parse_submission,
    register,
    shown,
)
from profile_poller.entry import producer

TOKEN = "AAAAKgAAAAIAAAAAAAAAAf" * 20


class Store:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_new(self, item: Any) -> bool:
        self.items.append(dict(item))
        return True


class Kept:
    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []

    def keep(self, body: str, reason: str) -> None:
        self.records.append((body, reason))


def test_what_a_waiting_workflow_sends_to_the_queue_registers_with_its_token() -> None:
    # the MessageBody of arn:aws:states:::sqs:sendMessage.waitForTaskToken, serialised by Step Functions
    body = json.dumps({"request_id": "r-1", "kind": "update", "correlation": {"order": "42"}, "task_token": TOKEN})
    store = Store()
    assert register(body, store, Kept(), now=1_800_000_000) == (Result.REGISTERED, "r-1")
    [item] = store.items
    assert item["task_token"] == TOKEN and item["correlation"] == {"order": "42"}
    assert PendingRequest.from_item(item, 1_800_000_000).task_token == TOKEN


def test_the_bus_event_carries_the_token_in_its_detail() -> None:
    detail = {"request_id": "r-1", "kind": "get", "task_token": TOKEN}
    envelope = {"detail-type": "Profile Request Submitted", "source": "x", "detail": detail}
    assert parse_submission(json.dumps(envelope)).task_token == TOKEN


def test_without_a_token_the_item_has_none() -> None:
    store = Store()
    register(json.dumps({"request_id": "r-1", "kind": "get"}), store, Kept(), now=5)
    assert "task_token" not in store.items[0]


@pytest.mark.parametrize(
    ("token", "why"), [("", "1 to 2048 characters, got 0"), ("x" * 2049, "got 2049"), (7, "string")]
)
def test_a_token_that_is_not_1_to_2048_characters_is_rejected_without_echoing_it(token: object, why: str) -> None:
    body = json.dumps({"request_id": "r-1", "kind": "get", "task_token": token})
    kept = Kept()
    result, reason = register(body, Store(), kept, now=5)
    assert result is Result.REJECTED and why in reason
    [(record, _)] = kept.records
    assert json.loads(record)["task_token"] == "***"  # the operator sees the record, not the credential


def test_a_token_of_exactly_2048_characters_is_taken() -> None:
    assert parse_submission(json.dumps({"request_id": "r", "kind": "get", "task_token": "x" * 2048})).task_token


def test_a_rejected_record_for_another_reason_keeps_no_token_either() -> None:
    envelope = {"detail-type": "Profile Request Submitted", "detail": {"request_id": "../x", "task_token": TOKEN}}
    kept = Kept()
    register(json.dumps(envelope), Store(), kept, now=5)
    [(record, reason)] = kept.records
    assert TOKEN not in record and TOKEN not in reason


def test_the_helper_writes_the_token_and_refuses_a_bad_one() -> None:
    item = producer.pending_item("r-1", kind=Kind.GET, submitted_at=5, task_token=TOKEN)
    assert item["task_token"] == TOKEN
    with pytest.raises(InvalidTaskToken) as caught:
        producer.pending_item("r-1", task_token="y" * 3000)
    assert "y" * 10 not in str(caught.value)


def test_a_submission_never_shows_its_token() -> None:
    submission = parse_submission(json.dumps({"request_id": "r", "kind": "get", "task_token": TOKEN}))
    assert TOKEN not in repr(submission)
    assert TOKEN not in repr(PendingRequest.from_item({"request_id": "r", "task_token": TOKEN}, 5))


def test_a_person_sees_that_a_token_is_set_not_its_value() -> None:
    assert shown({"request_id": "r", "task_token": TOKEN}) == {"request_id": "r", "task_token": "set"}
    assert shown({"request_id": "r"}) == {"request_id": "r"}
    with pytest.raises(Rejected):
        parse_submission(json.dumps({"request_id": "r", "kind": "get", "task_token": None, "tasktoken": "x"}))
