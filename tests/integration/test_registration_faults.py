"""Registration when the table fails, over the wire: the register function's table client goes through the
fault proxy; a throttled write fails only its record (registered on redelivery), a table failing every write
fails the whole batch until SQS moves it to the dead-letter queue, unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType

import pytest

from local.faultproxy import FaultProxy, Rule
from local.registration import MAX_RECEIVE_COUNT, Registration, deliver, put_submissions, queued
from local.stack import LocalStack
from profile_poller.adapters.registrations import DynamoRegistrationStore
from profile_poller.adapters.sqs import SqsRejectedRecords
from profile_poller.entry.config import RegisterSettings
from profile_poller.entry.register import RegisterRuntime
from tests.integration.faults import client_via, proxy  # noqa: F401 - fixture
from tests.integration.test_registration import NOW, emf, items, load_function, registration

__all__ = ["registration"]  # the fixture, shared with test_registration.py


@pytest.fixture
def function_via(stack: LocalStack, registration: Registration, proxy: FaultProxy) -> Iterator[ModuleType]:  # noqa: F811
    """The function with its table client behind the fault proxy (one attempt, so a fault reaches the handler)."""
    module = load_function()
    runtime = RegisterRuntime(
        RegisterSettings(stack.table, registration.rejected_url),
        DynamoRegistrationStore(client_via(proxy, "dynamodb", attempts=1), stack.table),
        SqsRejectedRecords(stack.client("sqs"), registration.rejected_url),
        lambda: NOW,
    )
    module.use_runtime(runtime)
    yield module
    module.use_runtime(None)


def test_a_throttled_table_fails_only_that_record_and_it_is_registered_on_redelivery(
    stack: LocalStack,
    registration: Registration,
    function_via: ModuleType,
    proxy: FaultProxy,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a batch of a record the table throttles, a bad record and a good one
    proxy.set_rules([Rule("dynamodb", "throttle", times=1)])
    sqs = stack.client("sqs")
    for body in ('{"request_id": "first", "kind": "get"}', "not json", '{"request_id": "third", "kind": "get"}'):
        sqs.send_message(QueueUrl=registration.queue_url, MessageBody=body)
    # When the function consumes the batch
    [answer] = deliver(stack, registration, function_via.lambda_handler)
    # Then only the throttled record is a batch item failure; the others are done
    [failure] = answer["batchItemFailures"]
    assert list(items(stack)) == ["third"]
    assert len(queued(stack, registration.rejected_url)) == 1
    assert emf(capsys.readouterr().out)["RegistrationsDeferred"] == 1
    # And redelivered (SQS makes it visible again), it is registered
    assert deliver(stack, registration, function_via.lambda_handler) == [{"batchItemFailures": []}]
    assert sorted(items(stack)) == ["first", "third"]
    assert failure["itemIdentifier"]


def test_a_failing_table_fails_the_whole_batch_then_the_dead_letter_queue_keeps_it(
    stack: LocalStack,
    registration: Registration,
    function_via: ModuleType,
    proxy: FaultProxy,  # noqa: F811
) -> None:
    # Given a table that answers 500 to every write
    proxy.set_rules([Rule("dynamodb", "error")])
    put_submissions(stack, registration.bus, [{"request_id": "r1", "kind": "get"}, {"request_id": "r2", "kind": "get"}])
    # When the mapping delivers the records as many times as the redrive policy allows
    for _ in range(MAX_RECEIVE_COUNT):
        [answer] = deliver(stack, registration, function_via.lambda_handler)
        assert len(answer["batchItemFailures"]) == 2  # nothing rejected: the records are fine, the table is not
    # Then SQS moves them to the dead-letter queue, unchanged; nothing was lost or rejected
    assert deliver(stack, registration, function_via.lambda_handler) == []
    dead = queued(stack, registration.dead_letter_url)
    assert sorted(json.loads(m["Body"])["detail"]["request_id"] for m in dead) == ["r1", "r2"]
    assert queued(stack, registration.rejected_url) == [] and items(stack) == {}
