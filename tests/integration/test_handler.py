"""The real handler end to end: moto server + Campaign API simulator over HTTP, both event shapes."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import app
from local.context import LambdaContext
from local.simulator import FileSpec, Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.adapters.dynamo_items import ASKING_KEY
from profile_poller.core.model import Kind
from profile_poller.entry.events import InvalidEvent
from profile_poller.entry.producer import register
from tests.conftest import API_KEY, Ticks
from tests.unit.test_events_and_messages import SCHEMA

ROOT = Path(__file__).resolve().parents[2]
ERRORS = (
    b'Code, Description, Index\r\n3005, "Invalid Profile ID", 1\r\n7031 , "Profile Id and Profile name ""x""", 2\r\n'
)


def event(name: str) -> Any:
    return json.loads((ROOT / "events" / name).read_text())


def items(stack: LocalStack) -> dict[str, dict[str, Any]]:
    raw = stack.client("dynamodb").scan(TableName=stack.table)["Items"]
    return {i["request_id"]["S"]: i for i in raw if i["request_id"]["S"] != ASKING_KEY}  # not a request


@pytest.mark.env(CONCURRENCY="4")
@pytest.mark.parametrize("event_name", ["schedule.json", "scheduled-event.json"])
def test_sweeps_settle_every_scenario_archive_files_and_notify(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, event_name: str
) -> None:
    # Given requests for each kind of answer
    sim.add_file("e.csv", FileSpec(ERRORS))
    sim.add_file("p.json", FileSpec(b'[{"id": 1}]'))
    scripts = {
        "upd": [Step.pending(), Step.done_update("40", sim.api_file_path("e.csv"))],
        "get": [Step.done_get(sim.public_file_url("p.json"))],
        "bad": [Step.error(200, 3005, "Invalid Profile ID")],
        "slow": [Step.pending()],
        "flaky": [Step.raw(502, b"<html>Bad Gateway</html>"), Step.done_update(2, None)],
    }
    ddb = stack.client("dynamodb")
    for rid, steps in scripts.items():
        sim.script(rid, *steps)
        register(
            ddb,
            stack.table,
            rid,
            kind=Kind.UPDATE if rid != "get" else Kind.GET,
            submitted_at=int(handler_ticks.clock()),
        )
    # When three scheduled sweeps run, an hour apart
    summaries = handler_ticks(3, event_name)
    # Then each request ends where its answers lead, with its files in S3 and one message per outcome
    state = {rid: i["status"]["S"] for rid, i in items(stack).items()}
    assert state == {"upd": "COMPLETED", "get": "COMPLETED", "bad": "FAILED", "slow": "PENDING", "flaky": "COMPLETED"}
    assert summaries[0]["failed"] == 1 and summaries[0]["transient_errors"] == 1
    assert sum(s["completed"] for s in summaries) == 3
    s3 = stack.client("s3")
    for rid, name, data in (("upd", "error-file.csv", ERRORS), ("get", "file.json", b'[{"id": 1}]')):
        uri = items(stack)[rid]["outcome"]["M"]["files"]["M"]["error-file" if rid == "upd" else "file"]["M"]["s3_uri"]
        key = uri["S"].split("/", 3)[3]
        assert key.endswith(f"/{rid}/{name}")
        obj = s3.get_object(Bucket=stack.bucket, Key=key)
        assert obj["Body"].read() == data
        assert obj["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert obj["Metadata"]["request-id"] == rid
    assert stack.queue_url is not None
    messages = [json.loads(m["Message"]) for m in drain(stack, stack.queue_url)]
    for body in messages:
        jsonschema.validate(body, SCHEMA)
    by_id = {m["request_id"]: m for m in messages}
    assert sorted(by_id) == ["bad", "flaky", "get", "upd"] and len(messages) == 4
    assert by_id["upd"]["update_count"] == 40 and by_id["upd"]["errors_by_code"] == {"3005": 1, "7031": 1}
    assert by_id["bad"]["api_code"] == "3005"


def test_key_rotation_mid_run_is_followed_and_the_key_never_logged(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, log_lines: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    sim.script("r1", Step.pending(), Step.done_update(1, None))
    register(stack.client("dynamodb"), stack.table, "r1", submitted_at=int(handler_ticks.clock()))
    handler_ticks()
    # the key is rotated: the API retires the old one (498) and the secret gets the new one
    sim.rotate_key("rotated-key-value")
    stack.client("secretsmanager").put_secret_value(
        SecretId=stack.secret_id, SecretString=json.dumps({"api_key": "rotated-key-value"})
    )
    [summary] = handler_ticks()
    assert summary["completed"] == 1 and summary["systemic"] == 0
    output = capfd.readouterr()
    emitted = "\n".join(log_lines) + output.out + output.err  # JSON logs, EMF metrics, anything printed
    assert any("API key rejected" in line for line in log_lines)
    assert API_KEY not in emitted and "rotated-key-value" not in emitted


def test_a_wrong_key_is_systemic_and_blames_no_request(stack: LocalStack, sim: Simulator, handler_ticks: Ticks) -> None:
    sim.valid_keys = {"something-else"}
    register(stack.client("dynamodb"), stack.table, "r1", submitted_at=int(handler_ticks.clock()))
    [summary] = handler_ticks()
    assert summary["systemic"] == 1 and "430" in summary["stopped"]
    item = items(stack)["r1"]
    assert item["status"]["S"] == "PENDING" and "lease_owner" not in item and "attempts" not in item


@pytest.mark.env(HTTP_TIMEOUT_SECONDS="1")
def test_a_status_call_the_api_never_answers_is_given_up_after_http_timeout_seconds(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks
) -> None:
    # Given HTTP_TIMEOUT_SECONDS=1 and an API that takes the status call and answers nothing (for 30 s)
    sim.script("silent", Step.hang())
    register(stack.client("dynamodb"), stack.table, "silent", submitted_at=int(handler_ticks.clock()))
    # When the handler runs once
    started = time.monotonic()
    [summary] = handler_ticks()
    # Then the call is given up after about 1 s, not the 10 s default: a transient error, the request still pending
    assert time.monotonic() - started < 6, summary
    assert summary["transient_errors"] == 1 and summary["completed"] == 0
    assert items(stack)["silent"]["status"]["S"] == "PENDING"


def test_invalid_event_is_refused_with_a_clear_error(handler_ticks: Ticks) -> None:
    with pytest.raises(InvalidEvent, match="unrecognised event"):
        app.lambda_handler({"Records": []}, LambdaContext())


def test_invalid_configuration_is_reported_without_a_sweep(
    monkeypatch: pytest.MonkeyPatch, log_lines: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    app.use_runtime(None)
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setenv("BUCKET_NAME", "b")
    monkeypatch.setenv("TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:t")
    monkeypatch.setenv("SECRET_ID", "s")
    monkeypatch.setenv("CONCURRENCY", "many")
    result = app.lambda_handler(event("schedule.json"), LambdaContext())
    assert result == {"stopped": "configuration: CONCURRENCY must be a whole number, got 'many'"}
    [line] = [json.loads(text) for text in log_lines if "invalid configuration" in text]
    assert line["level"] == "ERROR" and "CONCURRENCY must be a whole number" in line["reason"]
    assert "exception" not in line  # a clear line, no stack trace
    assert '"SystemicFailures":[1.0]' in capfd.readouterr().out.replace(" ", "")
