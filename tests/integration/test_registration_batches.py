"""A batch of registrations through the registration function (moto server, fault proxy): the items are spread
over DUE_SHARDS, and every record deferred by a throttled table is counted."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from local.faultproxy import FaultProxy, Rule
from local.registration import Registration, deliver, put_submissions
from local.stack import LocalStack
from profile_poller.adapters.registrations import DynamoRegistrationStore
from profile_poller.adapters.sqs import SqsRejectedRecords
from profile_poller.core.registration import due_shard_for
from profile_poller.entry.config import RegisterSettings
from profile_poller.entry.register import RegisterRuntime
from tests.integration.faults import client_via, proxy
from tests.integration.test_registration import NOW, emf, items, load_function, registration

__all__ = ["proxy", "registration"]  # fixtures, imported by name

IDS = [f"batch-{i}" for i in range(8)]


def function(stack: LocalStack, runtime: RegisterRuntime) -> Iterator[ModuleType]:
    module = load_function()
    module.use_runtime(runtime)
    yield module
    module.use_runtime(None)


@pytest.fixture
def sharded(stack: LocalStack, registration: Registration) -> Iterator[ModuleType]:
    settings = RegisterSettings(stack.table, registration.rejected_url, due_shards=4)
    yield from function(stack, RegisterRuntime.build(settings, clock=lambda: NOW))


@pytest.fixture
def throttled(stack: LocalStack, registration: Registration, proxy: FaultProxy) -> Iterator[ModuleType]:
    runtime = RegisterRuntime(
        RegisterSettings(stack.table, registration.rejected_url),
        DynamoRegistrationStore(client_via(proxy, "dynamodb", attempts=1), stack.table),
        SqsRejectedRecords(stack.client("sqs"), registration.rejected_url),
        lambda: NOW,
    )
    yield from function(stack, runtime)


def test_registrations_are_spread_over_the_due_shards(
    stack: LocalStack, registration: Registration, sharded: ModuleType
) -> None:
    # Given DUE_SHARDS=4, When eight requests are registered
    put_submissions(stack, registration.bus, [{"request_id": rid, "kind": "get"} for rid in IDS])
    assert all(a == {"batchItemFailures": []} for a in deliver(stack, registration, sharded.lambda_handler))
    # Then each is in its own stable shard, as the producer CLI would put it, and more than one shard is used
    shards = {rid: item["due_shard"] for rid, item in items(stack).items()}
    assert shards == {rid: due_shard_for(rid, 4) for rid in IDS}
    assert len(set(shards.values())) > 1


def test_every_record_a_throttled_table_defers_is_counted(
    stack: LocalStack,
    registration: Registration,
    throttled: ModuleType,
    proxy: FaultProxy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a table that throttles the first three writes
    proxy.set_rules([Rule("dynamodb", "throttle", times=3)])
    sqs = stack.client("sqs")
    for rid in IDS[:5]:
        sqs.send_message(QueueUrl=registration.queue_url, MessageBody=f'{{"request_id": "{rid}", "kind": "get"}}')
    capsys.readouterr()
    # When the function consumes the batch
    [answer] = deliver(stack, registration, throttled.lambda_handler)
    # Then three records are batch item failures and the metric says three were deferred
    assert len(answer["batchItemFailures"]) == 3 and len(items(stack)) == 2
    assert emf(capsys.readouterr().out)["RegistrationsDeferred"] == 3
