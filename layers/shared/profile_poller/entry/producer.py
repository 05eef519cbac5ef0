"""The producer contract (docs/producers.md): how automation registers a request-id.

The raw item is public: `{request_id, status: "PENDING", due_shard, next_check_at: 0}` put with
`attribute_not_exists(request_id)`, optionally `kind` and `submitted_at`. This helper writes exactly that.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..adapters.dynamo_items import DUE_INDEX, from_dynamo, to_dynamo
from ..core import registration
from ..core.bounds import InvalidSubmittedAt, validate_submitted_at
from ..core.model import Kind, Status
from ..core.registration import InvalidTaskToken, due_shard_for

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


__all__ = [
    "AlreadyRegistered",
    "InvalidSubmittedAt",
    "InvalidTaskToken",
    "due_shard_for",
    "get",
    "list_by_status",
    "pending_item",
    "register",
]


class AlreadyRegistered(Exception):
    pass


def pending_item(
    request_id: str,
    *,
    kind: Kind | None = None,
    submitted_at: int | None = None,
    shards: int = 1,
    task_token: str | None = None,
) -> dict[str, Any]:
    """The producer item (core.registration writes the same one for registration by event). `task_token`: the
    Step Functions task to call back when the request finishes (InvalidTaskToken if not 1-2,048 characters)."""
    # whole epoch seconds: a time in milliseconds is refused here with a clear error (InvalidSubmittedAt)
    when = int(time.time()) if submitted_at is None else validate_submitted_at(submitted_at, int(time.time()))
    return registration.pending_item(request_id, kind=kind, submitted_at=when, shards=shards, task_token=task_token)


def register(
    client: DynamoDBClient,
    table: str,
    request_id: str,
    *,
    kind: Kind | None = None,
    submitted_at: int | None = None,
    shards: int = 1,
    task_token: str | None = None,
) -> dict[str, Any]:
    """Put one pending request; raise AlreadyRegistered if the id is known (never overwrites). The item returned
    holds the task token, if any: show it with `registration.shown` (the token as "set"), never as it is.

    botocore retries a put that DynamoDB applied but answered with a 5xx or a reset; the retry's condition then
    fails on our own item. A condition that failed on a retry (not on the first attempt) against an item with this
    registration's `kind` and `submitted_at` is that case, and counts as success: the producer is not told that
    its own registration was already there.

    The stored item comes back with the refused put (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), not from a
    read: the producer policy allows `dynamodb:PutItem` only, and this path must work with exactly that policy."""
    item = pending_item(request_id, kind=kind, submitted_at=submitted_at, shards=shards, task_token=task_token)
    try:
        client.put_item(
            TableName=table,
            Item=to_dynamo(item),
            ConditionExpression="attribute_not_exists(request_id)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        retried = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) > 0
        old = exc.response.get("Item")
        stored = from_dynamo(old) if retried and isinstance(old, dict) and old else None
        if stored is None or not _same_registration(stored, item):
            raise AlreadyRegistered(f"request-id {request_id!r} is already registered") from None
        return stored
    return item


def _same_registration(stored: dict[str, Any], item: dict[str, Any]) -> bool:
    return all(stored.get(name) == item.get(name) for name in ("kind", "submitted_at"))


def get(client: DynamoDBClient, table: str, request_id: str) -> dict[str, Any] | None:
    answer = client.get_item(TableName=table, Key=to_dynamo({"request_id": request_id}), ConsistentRead=True)
    return from_dynamo(answer["Item"]) if "Item" in answer else None


def list_by_status(client: DynamoDBClient, table: str, status: Status, shards: int = 1) -> Iterator[dict[str, Any]]:
    """PENDING comes from the due index (cheap); finished states need a filtered scan (an admin tool)."""
    if status is Status.PENDING:
        for shard in range(shards):
            pages = client.get_paginator("query").paginate(
                TableName=table,
                IndexName=DUE_INDEX,
                KeyConditionExpression="due_shard = :s",
                ExpressionAttributeValues=to_dynamo({":s": str(shard)}),
            )
            for page in pages:
                for key in page.get("Items", []):
                    item = get(client, table, key["request_id"]["S"])
                    if item is not None:
                        yield item
        return
    pages = client.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=to_dynamo({":s": status.value}),
    )
    for page in pages:
        for raw in page.get("Items", []):
            yield from_dynamo(raw)
