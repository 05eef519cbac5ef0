"""The claim records the first claim's time once (`first_claimed_at`), over HTTP against moto and dynalite: a
hand-written item with a `submitted_at` from the future is aged from it (issue 17, item 6)."""

from __future__ import annotations

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.adapters.dynamodb import DynamoRequestStore
from profile_poller.core.items import PendingRequest
from profile_poller.core.schedule import check_at

NOW = 1_800_000_000
TYPO = 2_795_756_060


def test_the_first_claim_is_recorded_once_and_a_future_submission_ages_from_it(table_stack: LocalStack) -> None:
    ddb = table_stack.client("dynamodb")
    item = {"request_id": "typo", "status": "PENDING", "due_shard": "0", "next_check_at": 0, "submitted_at": TYPO}
    ddb.put_item(TableName=table_stack.table, Item=to_dynamo(item))
    store = DynamoRequestStore(ddb, table_stack.table)
    [due] = list(store.due_ids("0", NOW))
    first = store.claim(due, "a", NOW, check_at(NOW + 60, 1), 1)
    assert first is not None and first["first_claimed_at"] == NOW
    [due] = list(store.due_ids("0", NOW + 61))
    second = store.claim(due, "b", NOW + 61, check_at(NOW + 200, 2), 2)
    assert second is not None and second["first_claimed_at"] == NOW
    request = PendingRequest.from_item(second, NOW + 61)
    assert (request.submitted_at, request.age_from) == (TYPO, NOW)
