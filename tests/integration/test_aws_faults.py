"""What the AWS faults revealed, each fixed and checked over the wire through the fault proxy."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace

import pytest

from local.context import LambdaContext, OffsetClock
from local.faultproxy import FaultProxy, Rule, ops
from local.simulator import FileSpec, Simulator, Step
from local.stack import LocalStack, s3_reader
from profile_poller.adapters.dynamo_items import from_dynamo
from profile_poller.adapters.dynamodb import DynamoRequestStore
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.schedule import Due, check_at
from profile_poller.entry.aws import AwsPolicy
from profile_poller.entry.config import load_settings
from profile_poller.entry.producer import AlreadyRegistered, register
from profile_poller.entry.runtime import Runtime
from tests.integration.faults import client_via, proxy

__all__ = ["proxy"]
NOW = int(time.time())  # not ahead: the producer helper refuses a submitted_at in the future


@pytest.fixture
def store(stack: LocalStack, proxy: FaultProxy) -> DynamoRequestStore:
    return DynamoRequestStore(client_via(proxy, "dynamodb", attempts=3), stack.table)


def _due(store: DynamoRequestStore, rid: str) -> Due:
    return {d.request_id: d for d in store.due_ids("0", NOW)}[rid]


def _item(stack: LocalStack, rid: str) -> dict[str, object]:
    raw = stack.client("dynamodb").get_item(TableName=stack.table, Key={"request_id": {"S": rid}}, ConsistentRead=True)
    return from_dynamo(raw["Item"])


def test_a_claim_that_was_applied_but_answered_500_is_still_ours(
    stack: LocalStack, proxy: FaultProxy, store: DynamoRequestStore
) -> None:
    # Given DynamoDB applies the claim, then answers InternalServerError; botocore retries the same write
    register(stack.client("dynamodb"), stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    proxy.set_rules([Rule("dynamodb", "error-after", operations=ops("UpdateItem"), times=1)])
    # When the sweep claims it
    item = store.claim(_due(store, "r1"), "sweep-a", NOW, check_at(NOW + 900, 1), 1)
    # Then the claim is reported as won (the retry's condition failed only because the first attempt took the lease),
    # rather than as a lost race that would leave the request leased to nobody working on it for LEASE_SECONDS
    assert proxy.total == 1
    assert item is not None and item["lease_owner"] == "sweep-a"
    assert _item(stack, "r1")["lease_owner"] == "sweep-a"


def test_a_claim_lost_to_another_sweep_is_still_a_lost_race(
    stack: LocalStack, proxy: FaultProxy, store: DynamoRequestStore
) -> None:
    register(stack.client("dynamodb"), stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    seen = _due(store, "r1")
    assert store.claim(seen, "sweep-a", NOW, check_at(NOW + 900, 1), 1) is not None
    proxy.set_rules([Rule("dynamodb", "error-after", operations=ops("UpdateItem"), times=1)])
    assert store.claim(seen, "sweep-b", NOW + 1, check_at(NOW + 901, 1), 1) is None
    assert _item(stack, "r1")["lease_owner"] == "sweep-a"


def test_a_terminal_write_that_was_applied_but_answered_500_is_not_a_lost_lease(
    stack: LocalStack, proxy: FaultProxy, store: DynamoRequestStore
) -> None:
    register(stack.client("dynamodb"), stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    assert store.claim(_due(store, "r1"), "sweep-a", NOW, check_at(NOW + 900, 1), 1) is not None
    outcome = Outcome("r1", Status.COMPLETED, Kind.UPDATE, NOW, NOW + 5, 1, update_count=3, error_count=0)
    store.decide(outcome, "sweep-a", check_at(NOW + 960, 1))
    proxy.set_rules([Rule("dynamodb", "error-after", operations=ops("UpdateItem"), times=1)])
    store.finish(outcome, "sweep-a", NOW + 86_400)  # no LeaseLost: the write it retried is the one that happened
    assert proxy.total == 1
    assert _item(stack, "r1")["status"] == "COMPLETED"


@pytest.mark.parametrize("fault", ["error", "timeout"])
def test_an_unreadable_secret_stops_the_sweep_and_hands_every_claim_back(
    stack: LocalStack, sim: Simulator, proxy: FaultProxy, fault: str
) -> None:
    # Given Secrets Manager answers 500, or holds every call past the client's read timeout, on every attempt
    ids = [f"s{i}" for i in range(6)]
    for rid in ids:
        register(stack.client("dynamodb"), stack.table, rid, kind=Kind.UPDATE, submitted_at=NOW)
        sim.script(rid, Step.done_update(1, None))
    settings = load_settings(stack.function_env(sim.base_url, CONCURRENCY="3", RATE_LIMIT_PER_SECOND="1000"))
    policy = AwsPolicy(endpoint_url=proxy.url)
    policy = replace(policy, secretsmanager=replace(policy.secretsmanager, read_timeout=0.3))
    runtime = Runtime.build(settings, clock=OffsetClock(), aws=policy)
    proxy.set_rules([Rule("secretsmanager", fault, seconds=0.5)])
    # When a sweep runs
    started = time.monotonic()
    summary = runtime.sweep("sweep-a", LambdaContext().get_remaining_time_in_millis)
    # Then it stops as a systemic failure without asking the API, and no request is left leased or lost
    assert summary.stopped is not None and "API key unavailable" in summary.stopped
    assert summary.counts["systemic"] >= 1 and sim.calls == []
    items = [_item(stack, rid) for rid in ids]
    assert all(i["status"] == "PENDING" and "lease_owner" not in i and i["due_shard"] == "0" for i in items)
    assert proxy.injected[("secretsmanager", "GetSecretValue", fault)] >= 3  # every attempt failed
    assert time.monotonic() - started < 30  # bounded by the client's timeouts and attempts, not hung


@pytest.mark.parametrize(
    "rule",
    [
        Rule("s3", "reset", operations=ops("UploadPart")),
        Rule("s3", "throttle", operations=ops("CompleteMultipartUpload")),
    ],
    ids=["UploadPart reset", "CompleteMultipartUpload SlowDown"],
)
def test_an_archive_failing_mid_multipart_leaves_no_object_and_the_request_completes_later(
    stack: LocalStack, sim: Simulator, proxy: FaultProxy, rule: Rule
) -> None:
    # Given a finished request whose 9 MiB file goes to S3 in two parts, and S3 failing that step on every attempt
    data = b"Code, Description, Index\r\n" + b"".join(b'3005, "x", %d\r\n' % i for i in range(600_000))
    sim.add_file("big.csv", FileSpec(data))
    register(stack.client("dynamodb"), stack.table, "big", kind=Kind.UPDATE, submitted_at=NOW)
    sim.script("big", Step.done_update(1, sim.api_file_path("big.csv")))
    settings = load_settings(stack.function_env(sim.base_url, file_hosts="localhost", RATE_LIMIT_PER_SECOND="1000"))
    clock = OffsetClock()
    runtime = Runtime.build(settings, clock=clock, aws=AwsPolicy(endpoint_url=proxy.url))
    proxy.set_rules([rule])
    runtime.sweep("sweep-a", LambdaContext().get_remaining_time_in_millis)
    # Then the request is pending and free for the next sweep, and S3 holds neither an object nor an open upload
    item = _item(stack, "big")
    assert item["status"] == "PENDING" and "lease_owner" not in item
    s3 = stack.client("s3")
    assert s3.list_objects_v2(Bucket=stack.bucket).get("KeyCount") == 0
    assert not s3.list_multipart_uploads(Bucket=stack.bucket).get("Uploads")
    # When S3 recovers, the next sweep archives the whole file
    proxy.set_rules([])
    clock.advance(3600)
    runtime.sweep("sweep-b", LambdaContext().get_remaining_time_in_millis)
    assert _item(stack, "big")["status"] == "COMPLETED"
    (key,) = [o["Key"] for o in s3.list_objects_v2(Bucket=stack.bucket)["Contents"]]
    stored = s3_reader(stack).get_object(Bucket=stack.bucket, Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("fault", ["error-after", "reset-after"])
def test_a_registration_that_was_applied_but_answered_badly_is_a_success(
    stack: LocalStack, proxy: FaultProxy, fault: str
) -> None:
    # Given DynamoDB applies the producer's put, then answers 500 or resets; botocore retries the same put
    client = client_via(proxy, "dynamodb", attempts=3)
    proxy.set_rules([Rule("dynamodb", fault, operations=ops("PutItem"), times=1)])
    # When the producer registers
    item = register(client, stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    # Then it is told the registration worked (the retry's condition failed on its own item), and the item is it
    assert proxy.total == 1
    assert item["kind"] == "update" and item["submitted_at"] == NOW
    assert _item(stack, "r1")["status"] == "PENDING"


def test_a_registration_of_a_known_id_is_refused_on_the_first_attempt(stack: LocalStack, proxy: FaultProxy) -> None:
    # Given r1 is registered with exactly the same kind and submitted_at
    client = client_via(proxy, "dynamodb", attempts=3)
    register(client, stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)
    # When a producer registers it again (no fault: the condition fails on the first attempt)
    # Then it is told so: only a retry of its own put is taken as its own
    with pytest.raises(AlreadyRegistered):
        register(client, stack.table, "r1", kind=Kind.UPDATE, submitted_at=NOW)


@pytest.mark.parametrize(
    ("kind", "submitted_at"), [(Kind.GET, NOW), (Kind.UPDATE, NOW - 60)], ids=["another-kind", "submitted-earlier"]
)
def test_a_retried_put_that_meets_another_registration_is_refused(
    stack: LocalStack, proxy: FaultProxy, kind: Kind, submitted_at: int
) -> None:
    # Given r2 is registered, with another kind or submitted at another time than the producer's put
    client = client_via(proxy, "dynamodb", attempts=3)
    register(client, stack.table, "r2", kind=kind, submitted_at=submitted_at)
    # When the producer's put of r2 is answered 500 (the proxy hides the refusal) and botocore retries it
    proxy.set_rules([Rule("dynamodb", "error-after", operations=ops("PutItem"), times=1)])
    # Then the producer is told r2 was already registered: a retry is taken as its own only when both match
    with pytest.raises(AlreadyRegistered):
        register(client, stack.table, "r2", kind=Kind.UPDATE, submitted_at=NOW)
    assert proxy.total == 1
    assert (_item(stack, "r2")["kind"], _item(stack, "r2")["submitted_at"]) == (kind.value, submitted_at)
