"""The requests table's item format: its fixed names (the due index, the asking-lease key) and the mapping
between plain Python values and DynamoDB attribute values (floats as Decimal on the way in, whole Decimals back
as int, sets back as sorted lists). Shared by every adapter, producer and tool that reads or writes the table."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

DUE_INDEX = "due"
ASKING_KEY = "#asking"  # the tenant's asking lease; not a valid request-id, never in the due index

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_dynamo(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_plain_to_dynamo(v)) for k, v in values.items()}


def from_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _dynamo_to_plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain_to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _plain_to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_to_dynamo(v) for v in value]
    return value


def _dynamo_to_plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _dynamo_to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dynamo_to_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(_dynamo_to_plain(v) for v in value)
    return value
