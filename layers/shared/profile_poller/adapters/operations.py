"""DynamoDB adapter for the operator commands: reads, scans and the conditional writes of retry and republish.

Every write is conditional on the item being exactly in the state the command read (status and retry count),
so a retry never races a sweep or another operator: the loser gets Refused and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.model import Status
from ..core.operations import Refused, Stats
from ..core.ports import StoreError
from .dynamo_items import ASKING_KEY, from_dynamo, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATS_PROJECTION = "request_id, #status, due_shard, next_check_at, submitted_at, retried_at"


class DynamoOperations:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, request_id: str) -> dict[str, Any] | None:
        try:
            answer = self._client.get_item(
                TableName=self._table, Key=to_dynamo({"request_id": request_id}), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"reading {request_id} failed: {exc}") from exc
        return from_dynamo(answer["Item"]) if "Item" in answer else None

    def scan(self, status: Status | None = None, finished_since: int | None = None) -> Iterator[dict[str, Any]]:
        """Every item (in a status, finished since a time): a full table scan, page by page."""
        kwargs: dict[str, Any] = {"TableName": self._table}
        conditions: list[str] = []
        values: dict[str, Any] = {}
        if status is not None:
            conditions.append("#status = :status")
            values[":status"] = status.value
        if finished_since is not None:
            conditions.append("finished_at >= :since")
            values[":since"] = finished_since
        if conditions:
            kwargs["FilterExpression"] = " AND ".join(conditions)
            kwargs["ExpressionAttributeValues"] = to_dynamo(values)
            if status is not None:
                kwargs["ExpressionAttributeNames"] = {"#status": "status"}
        yield from self._pages(kwargs)

    def stats(self, now: int) -> Stats:
        stats = Stats(now)
        kwargs = {
            "TableName": self._table,
            "ProjectionExpression": STATS_PROJECTION,
            "ExpressionAttributeNames": {"#status": "status"},
        }
        for item in self._pages(kwargs):
            stats.add(item)
        return stats

    def _pages(self, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        try:
            for page in self._client.get_paginator("scan").paginate(**kwargs):
                for raw in page.get("Items", []):
                    if raw.get("request_id", {}).get("S") != ASKING_KEY:  # the tenant's asking lease, not a request
                        yield from_dynamo(raw)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"scanning the table failed: {exc}") from exc

    def retry(self, seen: Mapping[str, Any], values: Mapping[str, Any], shard: str, now: int) -> None:
        """Back to PENDING and due now, attempts and transient errors reset, the outcome moved to
        previous_outcomes; conditional on the status and retry count `seen`."""
        update = (
            "SET #status = :pending, due_shard = :shard, next_check_at = :now, attempts = :zero, "
            "transient_errors = :zero, retries = :retries, retried_at = :now, previous_outcomes = :previous "
            "REMOVE outcome, finished_at, expires_at, last_error, settling, lease_owner, lease_until"
        )
        self._conditional(
            seen,
            update,
            {
                ":pending": Status.PENDING.value,
                ":shard": shard,
                ":now": now,
                ":zero": 0,
                ":retries": values["retries"],
                ":previous": values["previous_outcomes"],
            },
        )

    def _conditional(self, seen: Mapping[str, Any], update: str, values: dict[str, Any]) -> None:
        request_id = str(seen["request_id"])
        condition = "#status = :seen_status AND "
        values = {**values, ":seen_status": seen.get("status")}
        if "retries" in seen:
            condition += "retries = :seen_retries"
            values[":seen_retries"] = seen["retries"]
        else:
            condition += "attribute_not_exists(retries)"
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_dynamo({"request_id": request_id}),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_dynamo(values),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise Refused(
                    f"{request_id} changed since it was read (a sweep or another operator); not touched"
                ) from None
            raise StoreError(f"updating {request_id} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"updating {request_id} failed: {exc}") from exc
