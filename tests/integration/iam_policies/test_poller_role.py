"""The poller function's role (PollerRole): a sweep with exactly its policies, and what it may not do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from local.context import LambdaContext, OffsetClock
from local.simulator import FileSpec, Simulator, Step
from local.stack import LOCAL_NAMES, drain
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.core.model import Kind
from profile_poller.entry.config import load_settings
from profile_poller.entry.producer import register
from profile_poller.entry.runtime import Runtime
from tests.integration.iam_policies.world import TOKEN, World, denied, new_id, stored


@pytest.fixture
def poller_runtime(world: World, sim: Simulator, acting_as: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import app

    acting_as("PollerRole")
    admin = world.as_["admin"]
    for name, value in admin.function_env(sim.base_url, file_hosts="localhost").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.endpoint)
    monkeypatch.setenv("OUTCOME_BUS_NAME", LOCAL_NAMES["OutcomeBus"])  # the template sets it (issue 19)
    clock = OffsetClock()
    app.use_runtime(Runtime.build(load_settings(), clock=clock))
    yield app
    app.use_runtime(None)


def test_a_sweep_settles_archives_publishes_and_calls_back_with_exactly_the_poller_roles_policies(
    world: World, sim: Simulator, poller_runtime: Any
) -> None:
    # Given three requests registered by waiting workflows (a task token each): one whose answer is final with a
    # file, one the API failed, one still pending
    admin = world.as_["admin"]
    sim.add_file("p.json", FileSpec(b'[{"id": 1}]'))
    done, bad, waiting = new_id(), new_id(), new_id()
    sim.script(done, Step.done_get(sim.public_file_url("p.json")))
    sim.script(bad, Step.error(200, 3005, "Invalid Profile ID"))
    sim.script(waiting, Step.pending())
    for rid in (done, bad, waiting):
        register(admin.client("dynamodb"), admin.table, rid, kind=Kind.GET, task_token=f"{TOKEN}-{rid}")
    # When a sweep runs as the poller's role
    event = {"source": "profile-poller.schedule", "action": "sweep"}
    summary = poller_runtime.lambda_handler(event, LambdaContext())
    # Then it claimed, read the secret, archived the file, published and settled: nothing was refused
    assert summary.get("systemic", 0) == 0 and summary.get("errors", 0) == 0, summary
    assert summary.get("publish_failures", 0) == 0, summary
    finished = stored(world, done) or {}
    assert finished["status"] == "COMPLETED", finished
    assert [f["archived"] for f in finished["outcome"]["files"].values()] == [True]
    assert (stored(world, bad) or {})["status"] == "FAILED"
    assert (stored(world, waiting) or {})["status"] == "PENDING"
    # And the waiting workflows were called back: SendTaskSuccess and SendTaskFailure delivered (an AccessDenied
    # would leave the requests pending with a callback failure), SendTaskHeartbeat for the pending one
    assert summary.get("callbacks_delivered") == 2 and summary.get("callback_failures", 0) == 0, summary
    assert summary.get("heartbeats") == 1 and summary.get("heartbeats_refused", 0) == 0, summary
    assert finished["task_callback"] == {"result": "delivered"}
    assert (stored(world, bad) or {})["task_callback"] == {"result": "delivered"}
    # And each outcome went to SNS and, as an event, to the outcome bus (PutEvents allowed there)
    assert admin.queue_url is not None
    published = [json.loads(m["Message"])["request_id"] for m in drain(admin, admin.queue_url)]
    assert published.count(done) == 1 and published.count(bad) == 1 and waiting not in published
    events = drain(admin, world.outcome_events_url)  # each body: the whole EventBridge event
    by_request = {e["detail"]["request_id"]: e for e in events}
    assert set(by_request) == {done, bad}
    assert {e["detail-type"] for e in events} == {"Profile Request Finished"}
    assert by_request[bad]["detail"]["status"] == "FAILED"


def test_the_poller_role_may_not_write_new_items_scan_or_touch_what_it_does_not_own(world: World) -> None:
    poller = world.as_["PollerRole"]
    ddb = poller.client("dynamodb")
    assert denied(ddb.put_item, TableName=poller.table, Item=to_dynamo({"request_id": "x"}))
    assert denied(ddb.scan, TableName=poller.table)
    assert denied(ddb.delete_item, TableName=poller.table, Key=to_dynamo({"request_id": "x"}))
    assert denied(poller.client("s3").put_object, Bucket=poller.bucket, Key="elsewhere/x", Body=b"x")
    assert denied(poller.client("s3").delete_bucket, Bucket=poller.bucket)
    assert denied(poller.client("secretsmanager").put_secret_value, SecretId=poller.secret_id, SecretString="{}")
    assert denied(poller.client("sqs").send_message, QueueUrl=world.registration.queue_url, MessageBody="{}")
