"""A sweep whose lease ran out, against the table (moto server and dynalite): once another sweep has taken the
request and handed it back, the stale sweep can write nothing; a request another sweep holds is never claimed,
even when its next check was moved earlier by hand. And a rate that is not exact in binary is kept."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.adapters.dynamodb import DynamoRequestStore
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.ports import LeaseLost
from profile_poller.core.schedule import AskingLease, Due, check_at
from profile_poller.entry.producer import register

NOW = 1_700_000_000  # in the past: a submitted_at ahead of the wall clock is refused


@pytest.fixture
def store(table_stack: LocalStack) -> DynamoRequestStore:
    return DynamoRequestStore(table_stack.client("dynamodb"), table_stack.table)


def raw(stack: LocalStack, rid: str) -> dict[str, Any]:
    answer = stack.client("dynamodb").get_item(TableName=stack.table, Key=to_dynamo({"request_id": rid}))
    item: dict[str, Any] = answer["Item"]
    return item


def due(store: DynamoRequestStore, now: int) -> dict[str, Due]:
    return {d.request_id: d for d in store.due_ids("0", now)}


def finished(rid: str) -> Outcome:
    return Outcome(rid, Status.COMPLETED, Kind.UPDATE, NOW, NOW + 5, 1, update_count=3, error_count=0)


STALE_WRITES: dict[str, Callable[[DynamoRequestStore], None]] = {
    "finish": lambda s: s.finish(finished("r1"), "old", NOW + 86_400),
    "reschedule": lambda s: s.reschedule("r1", "old", check_at(NOW + 60, 1), 1, "HTTP 500"),
    "release": lambda s: s.release("r1", "old", Decimal(0), 0),
    "extend": lambda s: s.extend("r1", "old", check_at(NOW + 3000, 1)),
    "decide": lambda s: s.decide(finished("r1"), "old", check_at(NOW + 3000, 1)),
}


@pytest.mark.parametrize("write", list(STALE_WRITES))
@pytest.mark.parametrize("handed_back_by", ["release", "reschedule"])
def test_a_sweep_whose_lease_lapsed_cannot_write_a_request_another_sweep_handed_back(
    table_stack: LocalStack, store: DynamoRequestStore, write: str, handed_back_by: str
) -> None:
    # Given sweep "old" that claimed r1 and stalled past its lease, and sweep "new" that claimed it after the
    # lease ran out and handed it back (no lease on the item now)
    register(table_stack.client("dynamodb"), table_stack.table, "r1", submitted_at=NOW)
    assert store.claim(due(store, NOW)["r1"], "old", NOW, check_at(NOW + 900, 1), 1) is not None
    later = due(store, NOW + 901)["r1"]
    assert store.claim(later, "new", NOW + 901, check_at(NOW + 1800, 2), 2) is not None
    if handed_back_by == "release":
        store.release("r1", "new", later.next_check_at, later.attempts)
    else:
        store.reschedule("r1", "new", check_at(NOW + 960, 2), 1, "HTTP 503")
    before = raw(table_stack, "r1")
    assert "lease_owner" not in before
    # When the stale sweep wakes up and writes, Then it is refused and the item is as "new" left it
    with pytest.raises(LeaseLost):
        STALE_WRITES[write](store)
    assert raw(table_stack, "r1") == before


def test_a_sweep_whose_lease_lapsed_cannot_finish_a_request_another_sweep_finished_otherwise_the_same_second(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    # Given sweep "old" that claimed r1 and stalled past its lease, and sweep "new" that claimed it then and
    # finished it FAILED, at the very second "old" is about to finish it COMPLETED
    register(table_stack.client("dynamodb"), table_stack.table, "r1", submitted_at=NOW)
    assert store.claim(due(store, NOW)["r1"], "old", NOW, check_at(NOW + 900, 1), 1) is not None
    assert store.claim(due(store, NOW + 901)["r1"], "new", NOW + 901, check_at(NOW + 1800, 2), 2) is not None
    failed = Outcome("r1", Status.FAILED, Kind.UPDATE, NOW, NOW + 5, 2, reason="HTTP 500 five times")
    store.finish(failed, "new", NOW + 86_400)
    before = raw(table_stack, "r1")
    # When the stale sweep finishes it with its own outcome (not a retry of "new"'s write)
    # Then it is told it lost the lease (it must not announce COMPLETED), and the item stays FAILED
    with pytest.raises(LeaseLost):
        store.finish(finished("r1"), "old", NOW + 86_400)
    assert raw(table_stack, "r1") == before and before["status"]["S"] == "FAILED"


@pytest.mark.parametrize(
    "closed_by_hand",
    [{}, {"outcome": {"note": "closed by hand, see ticket 42"}}],
    ids=["without-an-outcome", "with-an-outcome-of-its-own"],
)
def test_a_sweep_cannot_finish_a_request_an_operator_closed_by_hand_while_it_held_the_lease(
    table_stack: LocalStack, store: DynamoRequestStore, closed_by_hand: dict[str, Any]
) -> None:
    # Given sweep "a" holding r1, and an operator who marks r1 COMPLETED by hand meanwhile (out of the due index,
    # no lease), with or without an outcome map of their own
    register(table_stack.client("dynamodb"), table_stack.table, "r1", submitted_at=NOW)
    assert store.claim(due(store, NOW)["r1"], "a", NOW, check_at(NOW + 900, 1), 1) is not None
    item = {"request_id": "r1", "status": "COMPLETED", "submitted_at": NOW, **closed_by_hand}
    table_stack.client("dynamodb").put_item(TableName=table_stack.table, Item=to_dynamo(item))
    before = raw(table_stack, "r1")
    # When "a" finishes it COMPLETED, Then that is a lost lease (counted as such; not a crash of the sweep), and
    # the operator's item stays as written
    with pytest.raises(LeaseLost):
        store.finish(finished("r1"), "a", NOW + 86_400)
    assert raw(table_stack, "r1") == before


def test_a_request_another_sweep_holds_is_not_claimed_even_when_its_check_was_moved_earlier(
    table_stack: LocalStack, store: DynamoRequestStore
) -> None:
    # Given r1 leased by sweep "a" until NOW + 600, and its next check moved to the past by hand (an operator's
    # edit; the sweep's own writes always move next_check_at with the lease)
    table_stack.client("dynamodb").put_item(
        TableName=table_stack.table,
        Item=to_dynamo(
            {
                "request_id": "r1",
                "status": "PENDING",
                "due_shard": "0",
                "next_check_at": NOW - 10,
                "lease_owner": "a",
                "lease_until": NOW + 600,
                "submitted_at": NOW - 100,
            }
        ),
    )
    before = raw(table_stack, "r1")
    # When sweep "b" finds it due, Then its claim is refused and the lease stays with "a"
    assert store.claim(due(store, NOW)["r1"], "b", NOW, check_at(NOW + 900, 1), 1) is None
    assert raw(table_stack, "r1") == before


def test_a_rate_not_exact_in_binary_is_kept_and_handed_on(table_stack: LocalStack, store: DynamoRequestStore) -> None:
    # Given sweep a holding the asking lease at RATE_LIMIT_PER_SECOND=0.3
    assert store.take_asking("a", NOW, NOW + 60).owner == "a"
    # When it renews at 0.3 and ends at a rate after a 429 and a partial recovery
    store.keep_asking(AskingLease("a", NOW + 90, 0.3, NOW + 30.1, NOW + 40.7))
    recovered = 0.3 * 0.5 * 1.1
    store.end_asking(AskingLease("a", 0, recovered, NOW + 31.3, NOW + 40.7))
    # Then the next sweep takes it with exactly those figures
    taken = store.take_asking("b", NOW + 32, NOW + 92)
    assert (taken.owner, taken.rate, taken.rate_at, taken.paused_until) == ("b", recovered, NOW + 31.3, NOW + 40.7)
