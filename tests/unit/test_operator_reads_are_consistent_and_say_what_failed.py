"""The operator's read of one request is strongly consistent (it acts on what it read: a retry right after a sweep
must see the sweep's write), and a failed read or scan says what failed, as StoreError. botocore's Stubber answers as
DynamoDB would (moto and dynalite are always consistent, so only the call can show it)."""

from __future__ import annotations

import socket
from typing import Any

import boto3
import pytest
from botocore.config import Config
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


def test_a_retry_write_dynamodb_refuses_names_the_request_and_the_cause() -> None:
    # Given an operator's retry of a FAILED request whose write DynamoDB refuses (the role lost its grant)
    client = dynamodb()
    seen = {"request_id": "r-9", "status": "FAILED", "retries": 1}
    with Stubber(client) as stub:
        stub.add_client_error("update_item", service_error_code="AccessDeniedException", http_status_code=400)
        # When the retry is written, Then the error (the CLI's one line) says which request and why
        with pytest.raises(StoreError, match=r"^updating r-9 failed: .*AccessDeniedException"):
            DynamoOperations(client, "t").retry(seen, {"retries": 2, "previous_outcomes": []}, "0", 1_700_000_000)


def test_a_retry_write_that_reaches_no_dynamodb_names_the_request_and_the_cause() -> None:
    # Given DynamoDB unreachable (nothing listens on the endpoint's port, one attempt)
    with socket.socket() as probe:  # a free port on the loopback, closed again: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="t",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    seen = {"request_id": "r-9", "status": "FAILED"}
    # When the retry is written, Then the error says which request and that the endpoint could not be reached
    with pytest.raises(StoreError, match=r"^updating r-9 failed: Could not connect to the endpoint URL"):
        DynamoOperations(client, "t").retry(seen, {"retries": 1, "previous_outcomes": []}, "0", 1_700_000_000)
