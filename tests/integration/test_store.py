"""DynamoRequestStore against a moto server over HTTP: the sparse due index, claims, guarded writes."""

from __future__ import annotations

import pytest

from local.stack import LocalStack
from profile_poller.adapters.dynamodb import DynamoRequestStore, to_dynamo
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.ports import LeaseLost
from profile_poller.entry.producer import AlreadyRegistered, register

NOW = 1_800_000_000


@pytest.fixture
def store(stack: LocalStack) -> DynamoRequestStore:
    return DynamoRequestStore(stack.client("dynamodb"), stack.table, page_size=3)


def finished(rid: str) -> Outcome:
    return Outcome(rid, Status.COMPLETED, Kind.UPDATE, NOW, NOW + 5, 1, update_count=3, error_count=0)


def test_due_index_pages_through_only_due_pending_items(stack: LocalStack, store: DynamoRequestStore) -> None:
    ddb = stack.client("dynamodb")
    for i in range(7):
        register(ddb, stack.table, f"due-{i}", submitted_at=NOW)
    ddb.put_item(
        TableName=stack.table,
        Item=to_dynamo({"request_id": "later", "status": "PENDING", "due_shard": "0", "next_check_at": NOW + 60}),
    )
    ddb.put_item(TableName=stack.table, Item=to_dynamo({"request_id": "done", "status": "COMPLETED"}))
    assert sorted(store.due_ids("0", NOW)) == [f"due-{i}" for i in range(7)]  # 3 pages of 3
    assert list(store.due_ids("1", NOW)) == []


def test_claim_is_exclusive_until_the_lease_ends(stack: LocalStack, store: DynamoRequestStore) -> None:
    register(stack.client("dynamodb"), stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    item = store.claim("r1", "a", NOW, NOW + 900, due_by=NOW)
    assert item is not None and item["lease_owner"] == "a" and item["kind"] == "update"
    assert store.claim("r1", "b", NOW + 10, NOW + 910, due_by=NOW + 10) is None
    assert store.claim("r1", "b", NOW + 901, NOW + 1800, due_by=NOW + 901) is not None  # a's lease ran out


def test_claim_sets_submitted_at_when_the_producer_left_it_out(stack: LocalStack, store: DynamoRequestStore) -> None:
    stack.client("dynamodb").put_item(
        TableName=stack.table,
        Item=to_dynamo({"request_id": "r1", "status": "PENDING", "due_shard": "0", "next_check_at": 0}),
    )
    item = store.claim("r1", "a", NOW, NOW + 900, due_by=NOW)
    assert item is not None and item["submitted_at"] == NOW


def test_reschedule_counts_and_releases_and_is_guarded(stack: LocalStack, store: DynamoRequestStore) -> None:
    register(stack.client("dynamodb"), stack.table, "r1", submitted_at=NOW)
    store.claim("r1", "a", NOW, NOW + 900, due_by=NOW)
    with pytest.raises(LeaseLost):
        store.reschedule("r1", "intruder", NOW + 60, 0, None)
    store.reschedule("r1", "a", NOW + 60, 2, "HTTP 500")
    item = store.claim("r1", "b", NOW + 60, NOW + 960, due_by=NOW + 60)
    assert item is not None
    assert (item["attempts"], item["transient_errors"], item["last_error"]) == (1, 2, "HTTP 500")


def test_finish_stores_outcome_and_leaves_the_due_index(stack: LocalStack, store: DynamoRequestStore) -> None:
    ddb = stack.client("dynamodb")
    register(ddb, stack.table, "r1", submitted_at=NOW)
    store.claim("r1", "a", NOW, NOW + 900, due_by=NOW)
    with pytest.raises(LeaseLost):
        store.finish(finished("r1"), "intruder", NOW + 86400)
    store.finish(finished("r1"), "a", NOW + 86400)
    raw = ddb.get_item(TableName=stack.table, Key=to_dynamo({"request_id": "r1"}))["Item"]
    assert raw["status"]["S"] == "COMPLETED" and "due_shard" not in raw and "lease_owner" not in raw
    assert raw["outcome"]["M"]["update_count"]["N"] == "3" and raw["expires_at"]["N"] == str(NOW + 86400)
    assert list(store.due_ids("0", NOW + 10**6)) == []


def test_an_item_rescheduled_during_a_sweep_is_not_claimed_again_by_it(
    stack: LocalStack, store: DynamoRequestStore
) -> None:
    register(stack.client("dynamodb"), stack.table, "r1", submitted_at=NOW)
    store.claim("r1", "a", NOW, NOW + 900, due_by=NOW)
    store.reschedule("r1", "a", NOW + 1, 0, None)
    # the same sweep (started at NOW) sees a stale index page later: the claim must not succeed
    assert store.claim("r1", "a", NOW + 30, NOW + 930, due_by=NOW) is None
    # the next sweep may
    assert store.claim("r1", "b", NOW + 30, NOW + 930, due_by=NOW + 30) is not None


def test_release_keeps_the_item_due(stack: LocalStack, store: DynamoRequestStore) -> None:
    register(stack.client("dynamodb"), stack.table, "r1", submitted_at=NOW)
    store.claim("r1", "a", NOW, NOW + 900, due_by=NOW)
    store.release("r1", "a")
    assert list(store.due_ids("0", NOW)) == ["r1"]
    assert store.claim("r1", "b", NOW, NOW + 900, due_by=NOW) is not None


def test_a_sweep_without_the_lease_can_neither_release_nor_decide(stack: LocalStack, store: DynamoRequestStore) -> None:
    # Given a stale sweep "old" whose lease ran out, and sweep "new" that holds the lease now
    ddb = stack.client("dynamodb")
    register(ddb, stack.table, "r1", submitted_at=NOW)
    assert store.claim("r1", "old", NOW, NOW + 900, due_by=NOW) is not None
    assert store.claim("r1", "new", NOW + 901, NOW + 1800, due_by=NOW + 901) is not None
    # When the stale sweep wakes up and tries to drop the lease or record an outcome
    with pytest.raises(LeaseLost):
        store.release("r1", "old")
    with pytest.raises(LeaseLost):
        store.decide(finished("r1"), "old")
    # Then the live owner's lease and the item are untouched
    raw = ddb.get_item(TableName=stack.table, Key=to_dynamo({"request_id": "r1"}))["Item"]
    assert raw["lease_owner"]["S"] == "new" and raw["lease_until"]["N"] == str(NOW + 1800)
    assert "settling" not in raw and raw["status"]["S"] == "PENDING"
    assert store.claim("r1", "third", NOW + 902, NOW + 1900, due_by=NOW + 902) is None  # still leased
    # and the owner itself can do both
    store.decide(finished("r1"), "new")
    store.release("r1", "new")
    raw = ddb.get_item(TableName=stack.table, Key=to_dynamo({"request_id": "r1"}))["Item"]
    assert "lease_owner" not in raw and raw["settling"]["M"]["status"]["S"] == "COMPLETED"


def test_register_never_overwrites(stack: LocalStack) -> None:
    ddb = stack.client("dynamodb")
    register(ddb, stack.table, "r1")
    with pytest.raises(AlreadyRegistered):
        register(ddb, stack.table, "r1")
