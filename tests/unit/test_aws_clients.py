"""The AWS clients the sweep builds: which skip botocore's client-side parameter validation (only the sweep's table
client, a claim per check, whose adapter builds every parameter itself), and the retry mode, attempts and timeouts
each one has (the table "AWS clients: retry mode, attempts, timeouts" of docs/reliability.md)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ParamValidationError

from profile_poller.core.doors import AllDoors
from profile_poller.entry.aws import ClientPolicy
from profile_poller.entry.config import load_settings
from profile_poller.entry.runtime import Runtime

ENV = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "TOPIC_ARN": "arn:aws:sns:eu-west-1:1:t", "SECRET_ID": "s"}
MALFORMED = {"TableName": "t", "Key": {"request_id": {"S": 5}}}  # a number where DynamoDB wants a string


class Sent(Exception):
    """Raised by a before-send hook: the call got past validation to the wire (nothing leaves the process)."""


def _stop_at_the_wire(client: Any) -> Any:
    def stop(**_: Any) -> None:
        raise Sent

    client.meta.events.register("before-send", stop)
    return client


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return Runtime.build(load_settings(ENV))


def test_the_sweeps_table_client_sends_without_revalidating(runtime: Runtime) -> None:
    # Given the table client the sweep claims with
    store = _stop_at_the_wire(runtime.deps.store._client)  # type: ignore[attr-defined]
    # When a malformed call is made, botocore does not check it first: it would go to DynamoDB (which refuses it)
    with pytest.raises(Sent):
        store.update_item(**MALFORMED)


def test_the_other_clients_still_validate(runtime: Runtime) -> None:
    archive = _stop_at_the_wire(runtime.deps.archive._client)  # type: ignore[attr-defined]
    notifier = _stop_at_the_wire(runtime.deps.notifier._client)  # type: ignore[attr-defined]
    with pytest.raises(ParamValidationError):
        archive.copy_object(Bucket="b", Key=5, CopySource="b/k")
    with pytest.raises(ParamValidationError):
        notifier.publish_batch(TopicArn="t", PublishBatchRequestEntries="not a list")


def _policy(client: Any) -> tuple[str, str, int, float, float]:
    config = client.meta.config
    retries = config.retries
    service = client.meta.service_model.service_name
    return service, retries["mode"], retries["total_max_attempts"], config.connect_timeout, config.read_timeout


def test_each_client_has_the_documented_retry_mode_attempts_and_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a sweep built with every door open: the outcome bus and the Step Functions callbacks
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    deps = Runtime.build(load_settings({**ENV, "OUTCOME_BUS_NAME": "outcomes"})).deps
    assert isinstance(deps.notifier, AllDoors) and deps.tasks is not None
    topic, bus = deps.notifier.doors.values()
    clients = {
        "table": deps.store._client,  # type: ignore[attr-defined]
        "archive": deps.archive._client,  # type: ignore[attr-defined]
        "topic": topic._client,  # type: ignore[attr-defined]
        "key": deps.keys._client,  # type: ignore[attr-defined]
        "outcome bus": bus._client,  # type: ignore[attr-defined]
        "callbacks": deps.tasks._client,  # type: ignore[attr-defined]
        "heartbeats": deps.tasks._heartbeats,  # type: ignore[attr-defined]
    }
    # Then each talks to its service in botocore's standard retry mode, with the attempts (the first try included)
    # and the connect / read timeouts of docs/reliability.md; heartbeats get one short try (docs/producers.md: "one
    # try, 3 s at most")
    assert {name: _policy(client) for name, client in clients.items()} == {
        "table": ("dynamodb", "standard", 4, 2.0, 5.0),
        "archive": ("s3", "standard", 5, 2.0, 30.0),
        "topic": ("sns", "standard", 4, 2.0, 5.0),
        "key": ("secretsmanager", "standard", 3, 2.0, 5.0),
        "outcome bus": ("events", "standard", 4, 2.0, 5.0),
        "callbacks": ("stepfunctions", "standard", 4, 2.0, 5.0),
        "heartbeats": ("stepfunctions", "standard", 1, 1.0, 2.0),
    }


def test_the_worst_call_is_every_attempt_timing_out_plus_every_backoff_at_its_cap() -> None:
    # four attempts of 2 s + 5 s, and the backoffs 1, 2 and 4 s between them
    assert ClientPolicy(4, 2.0, 5.0).worst_call_seconds() == 4 * 7.0 + 1 + 2 + 4
    # one attempt: no backoff at all
    assert ClientPolicy(1, 1.0, 2.0).worst_call_seconds() == 3.0
    # seven attempts: the doubling backoff stops at botocore's cap of 20 s (1, 2, 4, 8, 16, 20)
    assert ClientPolicy(7, 0.5, 1.5).worst_call_seconds() == 7 * 2.0 + 1 + 2 + 4 + 8 + 16 + 20
