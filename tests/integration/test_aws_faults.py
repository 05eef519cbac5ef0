"""What the AWS faults revealed, each fixed and checked over the wire through the fault proxy."""

from __future__ import annotations

import pytest

from local.faultproxy import FaultProxy, Rule, ops
from local.stack import LocalStack
from profile_poller.adapters.dynamodb import DynamoRequestStore, from_dynamo
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.schedule import Due, check_at
from profile_poller.entry.producer import register
from tests.integration.faults import client_via, proxy

__all__ = ["proxy"]
NOW = 1_800_000_000


@pytest.fixture
def store(stack: LocalStack, proxy: FaultProxy) -> DynamoRequestStore:
    return DynamoRequestStore(client_via(proxy, "dynamodb", attempts=3), stack.table)


def _due(store: DynamoRequestStore, rid: str) -> Due:
    return {d.request_id: d for d in store.due_ids("0", NOW)}[rid]


def _item(stack: LocalStack, rid: str) -> dict[str, object]:
    raw = stack.client("dynamodb").get_item(TableName=stack.table, Key={"request_id": {"S": rid}}, ConsistentRead=True)
    return from_dynamo(raw["Item"])


def test_a_claim_that_was_applied_but_answered_500_is_still_ours(
    stack: LocalStack, proxy: FaultProxy, store: DynamoRequestStore
) -> None:
    # Given DynamoDB applies the claim, then answers InternalServerError; botocore retries the same write
    register(stack.client("dynamodb"), stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    proxy.set_rules([Rule("dynamodb", "error-after", operations=ops("UpdateItem"), times=1)])
    # When the sweep claims it
    item = store.claim(_due(store, "r1"), "sweep-a", NOW, check_at(NOW + 900, 1), 1)
    # Then the claim is reported as won (the retry's condition failed only because the first attempt took the lease),
    # rather than as a lost race that would leave the request leased to nobody working on it for LEASE_SECONDS
    assert proxy.total == 1
    assert item is not None and item["lease_owner"] == "sweep-a"
    assert _item(stack, "r1")["lease_owner"] == "sweep-a"


def test_a_claim_lost_to_another_sweep_is_still_a_lost_race(
    stack: LocalStack, proxy: FaultProxy, store: DynamoRequestStore
) -> None:
    register(stack.client("dynamodb"), stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    seen = _due(store, "r1")
    assert store.claim(seen, "sweep-a", NOW, check_at(NOW + 900, 1), 1) is not None
    proxy.set_rules([Rule("dynamodb", "error-after", operations=ops("UpdateItem"), times=1)])
    assert store.claim(seen, "sweep-b", NOW + 1, check_at(NOW + 901, 1), 1) is None
    assert _item(stack, "r1")["lease_owner"] == "sweep-a"


def test_a_terminal_write_that_was_applied_but_answered_500_is_not_a_lost_lease(
    stack: LocalStack, proxy: FaultProxy, store: DynamoRequestStore
) -> None:
    register(stack.client("dynamodb"), stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    assert store.claim(_due(store, "r1"), "sweep-a", NOW, check_at(NOW + 900, 1), 1) is not None
    outcome = Outcome("r1", Status.COMPLETED, Kind.UPDATE, NOW, NOW + 5, 1, update_count=3, error_count=0)
    store.decide(outcome, "sweep-a", check_at(NOW + 960, 1))
    proxy.set_rules([Rule("dynamodb", "error-after", operations=ops("UpdateItem"), times=1)])
    store.finish(outcome, "sweep-a", NOW + 86_400)  # no LeaseLost: the write it retried is the one that happened
    assert proxy.total == 1
    assert _item(stack, "r1")["status"] == "COMPLETED"
