"""The registration function with settings it cannot use: nothing is deleted, every record goes back to the queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.context import LambdaContext
from profile_poller.entry import register


def record(message_id: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": '{"request_id": "r1"}',
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:registrations",
        "awsRegion": "eu-west-1",
    }


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TABLE_NAME", raising=False)
    monkeypatch.delenv("REJECTED_QUEUE_URL", raising=False)
    register.use_runtime(None)
    yield
    register.use_runtime(None)


@pytest.mark.usefixtures("unconfigured")
def test_a_configuration_error_returns_every_record_to_the_queue() -> None:
    # Given a registration function without TABLE_NAME and REJECTED_QUEUE_URL
    event = {"Records": [record("m-1"), record("m-2"), record("m-3")]}
    # When a batch of three records arrives
    answer = register.lambda_handler(event, LambdaContext())
    # Then all three are reported failed (SQS keeps them until the settings are fixed), none is deleted
    assert answer == {"batchItemFailures": [{"itemIdentifier": m} for m in ("m-1", "m-2", "m-3")]}
