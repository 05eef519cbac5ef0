"""When the requests table fails (moto server and dynalite), the store's error names the call, the request and
DynamoDB's (or the connection's) own words: that text is the sweep's stop reason (`stopped` in its summary), all
an operator has to go on. And a claim the table refuses for one item's size is that request's problem."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.adapters.dynamodb import DynamoRequestStore
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.ports import ItemRejected, StoreError
from profile_poller.core.schedule import AskingLease, Due, check_at

NOW = 1_700_000_000
DUE = Due("r1", Decimal(0))

CALLS: dict[str, tuple[Callable[[DynamoRequestStore], Any], str]] = {
    "due_ids": (lambda s: list(s.due_ids("0", NOW)), "querying the due index failed: "),
    "claim": (lambda s: s.claim(DUE, "a", NOW, check_at(NOW + 60, 1), 1), "claiming r1 failed: "),
    "reschedule": (lambda s: s.reschedule("r1", "a", check_at(NOW + 60, 1), 1, "HTTP 500"), "updating r1 failed: "),
    "finish": (
        lambda s: s.finish(Outcome("r1", Status.COMPLETED, Kind.UPDATE, NOW, NOW + 5, 1), "a", NOW + 86_400),
        "updating r1 failed: ",
    ),
    "take_asking": (lambda s: s.take_asking("a", NOW, NOW + 60), "taking the asking lease failed: "),
    "keep_asking": (lambda s: s.keep_asking(AskingLease("a", NOW + 60, 5.0, NOW)), "updating #asking failed: "),
}


@pytest.fixture
def unreachable() -> Iterator[str]:
    """An endpoint on 127.0.0.1 that refuses connections: a port bound, never listened on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("call", list(CALLS))
def test_a_call_to_a_table_that_is_not_there_names_the_call_and_dynamodbs_error(
    table_stack: LocalStack, call: str
) -> None:
    # Given a store pointed at a table name that does not exist (a wrong TABLE_NAME, a deleted stack)
    store = DynamoRequestStore(table_stack.client("dynamodb"), "no-such-table")
    # When the sweep reads or writes through it, Then the error says which call, for which request, and why
    run, says = CALLS[call]
    with pytest.raises(StoreError) as raised:
        run(store)
    assert str(raised.value).startswith(says) and "ResourceNotFoundException" in str(raised.value)


@pytest.mark.parametrize("call", list(CALLS))
def test_a_call_to_a_table_that_cannot_be_reached_names_the_call_and_the_connection_error(
    unreachable: str, call: str
) -> None:
    # Given a store whose endpoint refuses connections (no retries: botocore's would only repeat the refusal)
    client = boto3.client(
        "dynamodb",
        endpoint_url=unreachable,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2),
    )
    store = DynamoRequestStore(client, "requests")
    # When the sweep reads or writes through it, Then the error says which call, for which request, and why
    run, says = CALLS[call]
    with pytest.raises(StoreError) as raised:
        run(store)
    assert str(raised.value).startswith(says) and "Could not connect to the endpoint URL" in str(raised.value)


def largest_pending_item(client: Any, table: str, request_id: str) -> None:
    """A pending item as large as the table takes (bisected: moto and dynalite count 400 KB apart)."""
    fits, refused = 1_000, 420_000
    while refused - fits > 1:
        size = (fits + refused) // 2
        item = {"request_id": request_id, "status": "PENDING", "due_shard": "0", "next_check_at": 0, "junk": "j" * size}
        try:
            client.put_item(TableName=table, Item=to_dynamo(item))
            fits = size
        except ClientError:
            refused = size
    item["junk"] = "j" * fits
    client.put_item(TableName=table, Item=to_dynamo(item))


def test_a_claim_the_table_refuses_for_the_items_size_is_that_requests_problem(table_stack: LocalStack) -> None:
    # Given a hand-written pending item so close to DynamoDB's 400 KB that the claim's attributes do not fit, under
    # an id longer than any valid one (1-128 characters)
    client = table_stack.client("dynamodb")
    request_id = "r" * 300
    largest_pending_item(client, table_stack.table, request_id)
    store = DynamoRequestStore(client, table_stack.table)
    # When a sweep claims it, Then the refusal is that request's (ItemRejected: the sweep goes on), naming it by
    # the first 128 characters of its id, and saying DynamoDB's reason
    with pytest.raises(ItemRejected) as raised:
        store.claim(Due(request_id, Decimal(0)), "a", NOW, check_at(NOW + 60, 1), 1)
    assert str(raised.value).startswith(f"the table refused the write for {'r' * 128}: Item size")
