"""DynamoDB adapter for registration: one conditional put per request, never an overwrite."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.ports import StoreError
from .dynamo_items import from_dynamo, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoRegistrationStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put_new(self, item: Mapping[str, Any]) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_dynamo(item),
                ConditionExpression="attribute_not_exists(request_id)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # known already, in whatever state: left exactly as it is
            raise StoreError(f"registering {str(item.get('request_id'))[:128]} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"registering {str(item.get('request_id'))[:128]} failed: {exc}") from exc
        return True

    def adopt_token(self, request_id: str, token: str) -> Mapping[str, Any] | None:
        """A duplicate registration's task token on a still pending item (the latest wins); a finished item is
        returned untouched (the condition fails) so its outcome can be called back."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_dynamo({"request_id": request_id}),
                UpdateExpression="SET task_token = :token",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_dynamo({":token": token, ":pending": "PENDING"}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return from_dynamo(exc.response.get("Item") or {})  # type: ignore[arg-type]
            raise StoreError(
                f"adding a task token to {request_id[:128]} failed: {exc.response.get('Error', {}).get('Code')}"
            ) from None
        except BotoCoreError as exc:
            raise StoreError(f"adding a task token to {request_id[:128]} failed: {type(exc).__name__}") from None
        return None
