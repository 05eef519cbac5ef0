"""Writes that race another writer, against the moto server: taking a misfiled item out of the due index never
takes a request an operator just retried; an operator's retry read before a sweep re-failed it is refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import from_dynamo, to_dynamo
from profile_poller.adapters.dynamodb import DynamoRequestStore
from profile_poller.adapters.operations import DynamoOperations
from profile_poller.core.operations import Refused, retry_values
from profile_poller.core.schedule import check_at
from tests.integration.by_hand import put

NOW = 1_800_000_000


class RacedClient:
    """A DynamoDB client whose first refused UpdateItem lets another writer in before the refusal comes back:
    what happens when an operator writes between a sweep's two calls."""

    def __init__(self, client: Any, meanwhile: Callable[[], None]) -> None:
        self._client = client
        self._meanwhile: Callable[[], None] | None = meanwhile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_item(self, **kwargs: Any) -> Any:
        try:
            return self._client.update_item(**kwargs)
        except ClientError:
            if self._meanwhile is not None:
                meanwhile, self._meanwhile = self._meanwhile, None
                meanwhile()
            raise


def item(stack: LocalStack, request_id: str) -> dict[str, Any]:
    raw = stack.client("dynamodb").get_item(TableName=stack.table, Key=to_dynamo({"request_id": request_id}))
    return from_dynamo(raw["Item"])


def test_a_retry_landing_before_a_misfiled_item_is_unindexed_stays_due(stack: LocalStack) -> None:
    # Given a FAILED request left in the due index (misfiled: no sweep can claim it)
    put(stack, request_id="r1", status="FAILED", due_shard="0", next_check_at=0, outcome={"status": "FAILED"})
    ops = DynamoOperations(stack.client("dynamodb"), stack.table)

    def operator_retries() -> None:
        seen = ops.get("r1")
        assert seen is not None
        ops.retry(seen, retry_values(seen, NOW), "0", NOW)

    raced: Any = RacedClient(stack.client("dynamodb"), operator_retries)
    store = DynamoRequestStore(raced, stack.table)
    [seen] = store.due_ids("0", NOW)
    # When a sweep's claim is refused, and an operator retries the request before the sweep unindexes it
    assert store.claim(seen, "a", NOW, check_at(NOW + 900, 1), 1) is None
    # Then the retried request keeps its place in the due index and the next sweep claims it
    retried = item(stack, "r1")
    assert retried["status"] == "PENDING" and retried["due_shard"] == "0" and "last_error" not in retried
    plain = DynamoRequestStore(stack.client("dynamodb"), stack.table)
    [again] = plain.due_ids("0", NOW + 1)
    assert plain.claim(again, "b", NOW + 1, check_at(NOW + 900, 1), 1) is not None


def test_a_retry_read_before_a_sweep_failed_the_request_again_is_refused(stack: LocalStack) -> None:
    # Given a request retried once already (retry-1) that failed, was retried (retry-2) and failed again
    put(
        stack,
        request_id="r1",
        status="FAILED",
        retries=1,
        outcome={"status": "FAILED", "reason": "second"},
        previous_outcomes=[{"status": "FAILED", "reason": "first"}],
    )
    ops = DynamoOperations(stack.client("dynamodb"), stack.table)
    stale = ops.get("r1")
    assert stale is not None
    now = int(time.time())
    ops.retry(stale, retry_values(stale, now), "0", now)  # the first operator's retry
    stack.client("dynamodb").update_item(  # a sweep fails it again
        TableName=stack.table,
        Key=to_dynamo({"request_id": "r1"}),
        UpdateExpression="SET #status = :failed, outcome = :outcome REMOVE due_shard",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=to_dynamo({":failed": "FAILED", ":outcome": {"status": "FAILED", "reason": "2nd"}}),
    )
    failed_again = item(stack, "r1")
    assert failed_again["retries"] == 2
    # When a second operator, who read it before the first retry, retries it now (same status, older count)
    with pytest.raises(Refused, match="changed since it was read"):
        ops.retry(stale, retry_values(stale, now + 1), "0", now + 1)
    # Then nothing is written: retry-2 is not used twice
    assert item(stack, "r1") == failed_again
