"""DynamoRequestStore over HTTP against a moto server and against dynalite (a second, stricter implementation):
the sparse due index, the claim that is a pending check's only write, guarded writes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.adapters.dynamodb import DynamoRequestStore
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.ports import LeaseLost
from profile_poller.core.schedule import AskingLease, Due, check_at
from profile_poller.entry.producer import AlreadyRegistered, register

NOW = 1_700_000_000  # in the past: the producer helper refuses a submitted_at ahead of its clock


@pytest.fixture
def store(table_stack: LocalStack) -> DynamoRequestStore:
    return DynamoRequestStore(table_stack.client("dynamodb"), table_stack.table, page_size=3)


def finished(rid: str) -> Outcome:
    return Outcome(rid, Status.COMPLETED, Kind.UPDATE, NOW, NOW + 5, 1, update_count=3, error_count=0)


def due(store: DynamoRequestStore, now: int) -> dict[str, Due]:
    return {d.request_id: d for d in store.due_ids("0", now)}


def raw(stack: LocalStack, rid: str) -> dict[str, Any]:
    item: dict[str, Any] = stack.client("dynamodb").get_item(TableName=stack.table, Key=to_dynamo({"request_id": rid}))[
        "Item"
    ]
    return item


def test_due_index_pages_through_only_due_pending_items(table_stack: LocalStack, store: DynamoRequestStore) -> None:
    ddb = table_stack.client("dynamodb")
    for i in range(7):
        register(ddb, table_stack.table, f"due-{i}", submitted_at=NOW)
    ddb.put_item(
        TableName=table_stack.table,
        Item=to_dynamo({"request_id": "later", "status": "PENDING", "due_shard": "0", "next_check_at": NOW + 60}),
    )
    ddb.put_item(TableName=table_stack.table, Item=to_dynamo({"request_id": "done", "status": "COMPLETED"}))
    entries = list(store.due_ids("0", NOW))  # 3 pages of 3
    assert sorted(d.request_id for d in entries) == [f"due-{i}" for i in range(7)]
    assert {(d.next_check_at, d.attempts) for d in entries} == {(Decimal(0), 0)}
    assert list(store.due_ids("1", NOW)) == []


def test_the_claim_schedules_the_next_check_counts_the_attempt_and_holds_until_then(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    register(table_stack.client("dynamodb"), table_stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    item = store.claim(due(store, NOW)["r1"], "a", NOW, check_at(NOW + 60, 1), 1)
    assert item is not None and item["lease_owner"] == "a" and item["kind"] == "update" and item["attempts"] == 1
    stored = raw(table_stack, "r1")
    assert stored["next_check_at"]["N"] == stored["lease_until"]["N"] == f"{NOW + 60}.0001"
    # not due before its next check, then due with the attempt it carries
    assert due(store, NOW + 60) == {}
    [entry] = due(store, NOW + 61).values()
    assert entry.attempts == 1
    assert store.claim(entry, "b", NOW + 61, check_at(NOW + 200, 2), 2) is not None


def test_a_claim_is_exclusive_and_conditional_on_the_entry_it_read(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    register(table_stack.client("dynamodb"), table_stack.table, "r1", submitted_at=NOW)
    seen = due(store, NOW)["r1"]
    assert store.claim(seen, "a", NOW, check_at(NOW + 900, 1), 1) is not None
    # a second sweep that read the same index page loses, even once the lease is over
    assert store.claim(seen, "b", NOW + 1, check_at(NOW + 900, 1), 1) is None
    assert store.claim(seen, "b", NOW + 901, check_at(NOW + 1800, 1), 1) is None


def test_a_claim_that_lost_to_a_hand_edit_of_an_item_without_a_status_leaves_it_for_the_next_sweep(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    # Given a hand-written item without a status (taken as pending), read from the due index by a sweep
    item = {"request_id": "r1", "due_shard": "0", "next_check_at": 0}
    ddb = table_stack.client("dynamodb")
    ddb.put_item(TableName=table_stack.table, Item=to_dynamo(item))
    seen = due(store, NOW)["r1"]
    # and written again by hand, due a little later, before the sweep claims it
    ddb.put_item(TableName=table_stack.table, Item=to_dynamo({**item, "next_check_at": NOW - 5}))
    before = raw(table_stack, "r1")
    # When the sweep claims what it read, Then it loses quietly: the item is untouched and still due
    assert store.claim(seen, "a", NOW, check_at(NOW + 30, 1), 1) is None
    assert raw(table_stack, "r1") == before
    assert store.claim(due(store, NOW)["r1"], "a", NOW, check_at(NOW + 30, 1), 1) is not None


def test_claim_sets_submitted_at_when_the_producer_left_it_out(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    table_stack.client("dynamodb").put_item(
        TableName=table_stack.table,
        Item=to_dynamo({"request_id": "r1", "status": "PENDING", "due_shard": "0", "next_check_at": 0}),
    )
    item = store.claim(due(store, NOW)["r1"], "a", NOW, check_at(NOW + 30, 1), 1)
    assert item is not None and item["submitted_at"] == NOW


def test_reschedule_sets_the_count_and_releases_and_is_guarded(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    register(table_stack.client("dynamodb"), table_stack.table, "r1", submitted_at=NOW)
    store.claim(due(store, NOW)["r1"], "a", NOW, check_at(NOW + 900, 1), 1)
    with pytest.raises(LeaseLost):
        store.reschedule("r1", "intruder", check_at(NOW + 60, 1), 0, None)
    store.reschedule("r1", "a", check_at(NOW + 60, 1), 2, "HTTP 500")
    item = store.claim(due(store, NOW + 61)["r1"], "b", NOW + 61, check_at(NOW + 960, 2), 2)
    assert item is not None
    assert (item["attempts"], item["transient_errors"], item["last_error"]) == (2, 2, "HTTP 500")


def test_extend_and_decide_hold_the_request_longer(table_stack: LocalStack, store: DynamoRequestStore) -> None:
    register(table_stack.client("dynamodb"), table_stack.table, "r1", submitted_at=NOW)
    store.claim(due(store, NOW)["r1"], "a", NOW, check_at(NOW + 30, 1), 1)
    with pytest.raises(LeaseLost):
        store.extend("r1", "intruder", check_at(NOW + 960, 1))
    store.extend("r1", "a", check_at(NOW + 960, 1))
    assert due(store, NOW + 100) == {}
    store.decide(finished("r1"), "a", check_at(NOW + 2000, 1))
    stored = raw(table_stack, "r1")
    assert stored["lease_until"]["N"] == stored["next_check_at"]["N"] == f"{NOW + 2000}.0001"
    assert stored["settling"]["M"]["status"]["S"] == "COMPLETED"


def test_finish_stores_outcome_and_leaves_the_due_index(table_stack: LocalStack, store: DynamoRequestStore) -> None:
    ddb = table_stack.client("dynamodb")
    register(ddb, table_stack.table, "r1", submitted_at=NOW)
    store.claim(due(store, NOW)["r1"], "a", NOW, check_at(NOW + 900, 1), 1)
    with pytest.raises(LeaseLost):
        store.finish(finished("r1"), "intruder", NOW + 86400)
    store.finish(finished("r1"), "a", NOW + 86400)
    stored = raw(table_stack, "r1")
    assert stored["status"]["S"] == "COMPLETED" and "due_shard" not in stored and "lease_owner" not in stored
    assert stored["outcome"]["M"]["update_count"]["N"] == "3" and stored["expires_at"]["N"] == str(NOW + 86400)
    assert list(store.due_ids("0", NOW + 10**6)) == []


def test_a_finished_request_keeps_its_outcome_and_no_outcome_still_settling(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    # Given r1 whose outcome was decided (settling, being published)
    register(table_stack.client("dynamodb"), table_stack.table, "r1", submitted_at=NOW)
    store.claim(due(store, NOW)["r1"], "a", NOW, check_at(NOW + 900, 1), 1)
    store.decide(finished("r1"), "a", check_at(NOW + 900, 1))
    # When it finishes, Then the item holds the outcome once, as finished, and nothing half-settled
    store.finish(finished("r1"), "a", NOW + 86400)
    stored = raw(table_stack, "r1")
    assert stored["outcome"]["M"]["status"]["S"] == "COMPLETED" and "settling" not in stored


def test_release_gives_the_request_back_where_it_was(table_stack: LocalStack, store: DynamoRequestStore) -> None:
    register(table_stack.client("dynamodb"), table_stack.table, "r1", submitted_at=NOW)
    seen = due(store, NOW)["r1"]
    store.claim(seen, "a", NOW, check_at(NOW + 900, 1), 1)
    with pytest.raises(LeaseLost):
        store.release("r1", "intruder", seen.next_check_at, seen.attempts)
    store.release("r1", "a", seen.next_check_at, seen.attempts)
    assert due(store, NOW) == {"r1": seen}
    item = store.claim(seen, "b", NOW, check_at(NOW + 900, 1), 1)
    assert item is not None and item["attempts"] == 1  # the released attempt was not counted


def test_a_request_handed_back_unasked_is_as_the_producer_wrote_it_and_an_asked_one_keeps_its_count(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    # Given r0, claimed and handed back before it was asked, and r1 and r2, asked once and twice, then handed back
    ddb = table_stack.client("dynamodb")
    for rid in ("r0", "r1", "r2"):
        register(ddb, table_stack.table, rid, submitted_at=NOW)
    registered = raw(table_stack, "r0")
    seen = due(store, NOW)
    for asked, rid in enumerate(("r0", "r1", "r2")):
        assert store.claim(seen[rid], "a", NOW, check_at(NOW + 900, asked + 1), asked + 1) is not None
        store.release(rid, "a", seen[rid].next_check_at if asked == 0 else check_at(NOW + 60, asked), asked)
    # Then the unasked one shows no attempt at all, only when it was first claimed
    assert raw(table_stack, "r0") == {**registered, "first_claimed_at": {"N": str(NOW)}}
    # and the others show the attempts they were asked, due again unleased
    for asked, rid in ((1, "r1"), (2, "r2")):
        stored = raw(table_stack, rid)
        assert stored["attempts"] == {"N": str(asked)} and "lease_owner" not in stored
        assert due(store, NOW + 61)[rid].attempts == asked


def test_a_sweep_without_the_lease_can_neither_release_nor_decide(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    # Given a stale sweep "old" whose lease ran out, and sweep "new" that holds the lease now
    ddb = table_stack.client("dynamodb")
    register(ddb, table_stack.table, "r1", submitted_at=NOW)
    seen = due(store, NOW)["r1"]
    assert store.claim(seen, "old", NOW, check_at(NOW + 900, 1), 1) is not None
    later = due(store, NOW + 901)["r1"]
    assert store.claim(later, "new", NOW + 901, check_at(NOW + 1800, 2), 2) is not None
    # When the stale sweep wakes up and tries to drop the lease or record an outcome
    with pytest.raises(LeaseLost):
        store.release("r1", "old", seen.next_check_at, seen.attempts)
    with pytest.raises(LeaseLost):
        store.decide(finished("r1"), "old", check_at(NOW + 2000, 1))
    # Then the live owner's lease and the item are untouched
    stored = raw(table_stack, "r1")
    assert stored["lease_owner"]["S"] == "new" and stored["lease_until"]["N"] == f"{NOW + 1800}.0002"
    assert "settling" not in stored and stored["status"]["S"] == "PENDING"
    assert due(store, NOW + 902) == {}  # still leased, not due
    # and the owner itself can do both
    store.decide(finished("r1"), "new", check_at(NOW + 2000, 2))
    store.release("r1", "new", later.next_check_at, later.attempts)
    stored = raw(table_stack, "r1")
    assert "lease_owner" not in stored and stored["settling"]["M"]["status"]["S"] == "COMPLETED"


def test_register_never_overwrites(table_stack: LocalStack) -> None:
    ddb = table_stack.client("dynamodb")
    register(ddb, table_stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    first = raw(table_stack, "r1")
    with pytest.raises(AlreadyRegistered):
        register(ddb, table_stack.table, "r1", kind=Kind.GET, submitted_at=NOW + 60)
    assert raw(table_stack, "r1") == first


def test_the_asking_lease_is_one_sweeps_at_a_time_and_keeps_the_rate(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    # Given sweep a holding the tenant's asking lease
    lease = store.take_asking("a", NOW, NOW + 60)
    assert lease.owner == "a" and lease.rate is None
    # Then sweep b is refused while it lasts, told who holds it until when (its summary says so; dynalite
    # returns no item with a failed condition: the holder is then unknown), and cannot renew or end it
    refused = store.take_asking("b", NOW + 1, NOW + 61)
    moto = table_stack.dynamodb_endpoint is None
    assert (refused.owner, refused.until) == (("a", NOW + 60) if moto else ("another sweep", 0))
    with pytest.raises(LeaseLost):
        store.keep_asking(AskingLease("b", NOW + 61, 5.0, NOW + 1))
    # When a renews with a lowered rate and a pause, then ends
    store.keep_asking(AskingLease("a", NOW + 90, 6.5, NOW + 30, NOW + 40))
    assert store.take_asking("b", NOW + 61, NOW + 121).owner != "b"  # renewed past NOW + 60
    store.end_asking(AskingLease("a", 0, 7.25, NOW + 31, NOW + 40))
    # Then b takes it with the rate state a left; the item never shows up as a due request
    taken = store.take_asking("b", NOW + 32, NOW + 92)
    assert (taken.owner, taken.rate, taken.rate_at, taken.paused_until) == ("b", 7.25, NOW + 31, NOW + 40)
    assert list(store.due_ids("0", NOW + 10**6)) == []
    # and once b's lease has run out (b died), c takes it
    assert store.take_asking("c", NOW + 93, NOW + 153).owner == "c"
