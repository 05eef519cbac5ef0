"""The operator's reads (`list`, `stats`) see requests only: the tenant's asking lease, an item of the same table
under the key `#asking`, is neither listed nor counted (moto server)."""

from __future__ import annotations

import time

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import ASKING_KEY, to_dynamo
from profile_poller.adapters.operations import DynamoOperations
from profile_poller.core.model import Kind, Status
from profile_poller.entry.producer import register


def test_the_tenants_asking_lease_is_neither_listed_nor_counted(stack: LocalStack) -> None:
    # Given two pending requests and the tenant's asking lease in the table
    client = stack.client("dynamodb")
    now = int(time.time())
    register(client, stack.table, "op-1", kind=Kind.GET, submitted_at=now - 60)
    register(client, stack.table, "op-2", kind=Kind.UPDATE, submitted_at=now - 30)
    client.put_item(
        TableName=stack.table, Item=to_dynamo({"request_id": ASKING_KEY, "lease_owner": "sweep-1", "lease_until": now})
    )
    ops = DynamoOperations(client, stack.table)
    # When the operator lists and counts them, then only the requests are there
    assert sorted(item["request_id"] for item in ops.scan()) == ["op-1", "op-2"]
    assert sorted(item["request_id"] for item in ops.scan(Status.PENDING)) == ["op-1", "op-2"]
    stats = ops.stats(now)
    assert stats.scanned == 2 and dict(stats.counts) == {"PENDING": 2}
