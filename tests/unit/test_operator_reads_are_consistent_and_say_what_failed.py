"""The operator's read of one request is strongly consistent (it acts on what it read: a retry right after a sweep
must see the sweep's write), and a failed read or scan says what failed, as StoreError. botocore's Stubber answers as
DynamoDB would (moto and dynalite are always consistent, so only the call can show it)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from profile_poller.adapters.operations import DynamoOperations
from profile_poller.core.ports import StoreError


def dynamodb() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="t")


def test_reading_one_request_is_strongly_consistent() -> None:
    client = dynamodb()
    with Stubber(client) as stub:
        stub.add_response(
            "get_item",
            {"Item": {"request_id": {"S": "r-1"}, "status": {"S": "FAILED"}}},
            {"TableName": "t", "Key": {"request_id": {"S": "r-1"}}, "ConsistentRead": True},
        )
        assert DynamoOperations(client, "t").get("r-1") == {"request_id": "r-1", "status": "FAILED"}
        stub.assert_no_pending_responses()


def test_a_failed_read_names_the_request() -> None:
    client = dynamodb()
    with Stubber(client) as stub:
        stub.add_client_error("get_item", service_error_code="InternalServerError", http_status_code=500)
        with pytest.raises(StoreError, match=r"^reading r-7 failed: .*InternalServerError"):
            DynamoOperations(client, "t").get("r-7")


def test_a_failed_scan_says_the_scan_failed() -> None:
    client = dynamodb()
    with Stubber(client) as stub:
        stub.add_client_error("scan", service_error_code="InternalServerError", http_status_code=500)
        with pytest.raises(StoreError, match=r"^scanning the table failed: .*InternalServerError"):
            list(DynamoOperations(client, "t").scan())
