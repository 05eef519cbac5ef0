"""The registration store when DynamoDB fails a write (botocore's Stubber answers as the service would; a closed
port of 127.0.0.1 for a connection that fails): the failure is a StoreError naming the request and what AWS said,
so the record goes back to its queue and the log says why; a late task token never shows in it. A failed condition
is no failure: the request is known already."""

from __future__ import annotations

import socket
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.adapters.registrations import DynamoRegistrationStore
from profile_poller.core.model import Kind
from profile_poller.core.ports import StoreError
from profile_poller.core.registration import pending_item

TOKEN = "a-late-task-token-" + "t" * 40


def dynamodb(endpoint_url: str | None = None) -> Any:
    return boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2, read_timeout=2),
    )


def unreachable() -> Any:
    """A client whose endpoint refuses every connection (a port of 127.0.0.1 nobody listens on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return dynamodb(f"http://127.0.0.1:{port}")


def test_a_throttled_put_names_the_request_and_the_error() -> None:
    client = dynamodb()
    with Stubber(client) as stub:
        stub.add_client_error("put_item", service_error_code="ProvisionedThroughputExceededException")
        with pytest.raises(StoreError) as deferred:
            DynamoRegistrationStore(client, "requests").put_new(
                pending_item("r-throttled", kind=Kind.GET, submitted_at=5)
            )
    assert "r-throttled" in str(deferred.value) and "ProvisionedThroughputExceededException" in str(deferred.value)


def test_a_put_whose_condition_fails_is_a_known_request_not_an_error() -> None:
    client = dynamodb()
    with Stubber(client) as stub:
        stub.add_client_error("put_item", service_error_code="ConditionalCheckFailedException")
        stub.add_response("put_item", {})
        store = DynamoRegistrationStore(client, "requests")
        assert store.put_new(pending_item("r-known", kind=Kind.GET, submitted_at=5)) is False
        assert store.put_new(pending_item("r-new", kind=Kind.GET, submitted_at=5)) is True


def test_a_put_that_cannot_reach_the_table_names_the_request() -> None:
    with pytest.raises(StoreError) as deferred:
        DynamoRegistrationStore(unreachable(), "requests").put_new(
            pending_item("r-unreachable", kind=Kind.GET, submitted_at=5)
        )
    assert "r-unreachable" in str(deferred.value) and "Could not connect" in str(deferred.value)


def test_a_late_token_the_table_refuses_names_the_request_and_the_code_never_the_token() -> None:
    client = dynamodb()
    with Stubber(client) as stub:
        stub.add_client_error("update_item", service_error_code="ThrottlingException", service_message=TOKEN)
        with pytest.raises(StoreError) as deferred:
            DynamoRegistrationStore(client, "requests").adopt_token("r-late", TOKEN)
    assert "r-late" in str(deferred.value) and "ThrottlingException" in str(deferred.value)
    assert TOKEN not in str(deferred.value)


def test_a_late_token_that_cannot_reach_the_table_names_the_request_and_the_failure() -> None:
    with pytest.raises(StoreError) as deferred:
        DynamoRegistrationStore(unreachable(), "requests").adopt_token("r-late", TOKEN)
    assert "r-late" in str(deferred.value) and "EndpointConnectionError" in str(deferred.value)
    assert TOKEN not in str(deferred.value)


def test_a_finished_request_is_handed_back_as_stored_and_one_without_an_answer_as_empty() -> None:
    client = dynamodb()
    finished = {"request_id": "r-done", "status": "COMPLETED"}
    with Stubber(client) as stub:
        stub.add_client_error(
            "update_item",
            service_error_code="ConditionalCheckFailedException",
            modeled_fields={"Item": to_dynamo(finished)},
        )
        stub.add_client_error("update_item", service_error_code="ConditionalCheckFailedException")
        store = DynamoRegistrationStore(client, "requests")
        assert store.adopt_token("r-done", TOKEN) == finished
        assert store.adopt_token("r-gone", TOKEN) == {}
