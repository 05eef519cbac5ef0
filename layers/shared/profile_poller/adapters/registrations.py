"""DynamoDB adapter for registration: one conditional put per request, never an overwrite."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.ports import StoreError
from .dynamo_items import to_dynamo

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
