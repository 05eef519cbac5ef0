"""The operator commands against the moto server: retry (by id, by status and date, racing a sweep), republish,
stats, --json, exit codes and the table found from --table, TABLE_NAME or --stack."""

from __future__ import annotations

import json
import time
from typing import Any

import jsonschema
import pytest

from local.simulator import Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.adapters.dynamo_items import from_dynamo, to_dynamo
from profile_poller.adapters.operations import DynamoOperations
from profile_poller.core.model import Kind
from profile_poller.core.operations import PREVIOUS_OUTCOMES_KEPT, Refused, retry_values
from profile_poller.entry.producer import register
from tests.conftest import Ticks
from tests.integration.by_hand import cli, put
from tests.unit.test_events_and_messages import SCHEMA


@pytest.fixture(autouse=True)
def table(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", stack.table)
    monkeypatch.setenv("TOPIC_ARN", stack.topic_arn)


def item(stack: LocalStack, request_id: str) -> dict[str, Any]:
    raw = stack.client("dynamodb").get_item(TableName=stack.table, Key=to_dynamo({"request_id": request_id}))
    return from_dynamo(raw["Item"])


def messages(stack: LocalStack) -> list[dict[str, Any]]:
    assert stack.queue_url is not None
    return [json.loads(m["Message"]) for m in drain(stack, stack.queue_url)]


def test_a_retried_failure_runs_again_and_its_next_outcome_has_a_new_event_id(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a request that FAILED (with a correlation) and would fail again the same way
    sim.script("r-1", Step.error(200, 3005, "Invalid Profile ID"))
    register(stack.client("dynamodb"), stack.table, "r-1", kind=Kind.GET)
    stack.client("dynamodb").update_item(
        TableName=stack.table,
        Key=to_dynamo({"request_id": "r-1"}),
        UpdateExpression="SET correlation = :c",
        ExpressionAttributeValues=to_dynamo({":c": {"job": "42"}}),
    )
    handler_ticks()
    [first] = messages(stack)
    assert first["event_id"] == "r-1:FAILED"
    # When the operator retries it
    code, out, _ = cli(capsys, "retry", "r-1", "--json")
    # Then it is PENDING and due now, attempts and errors reset, the failure kept in previous_outcomes
    assert code == 0 and json.loads(out)["retried"] == [{"request_id": "r-1", "from": "FAILED", "retry": 1}]
    now = item(stack, "r-1")
    assert now["status"] == "PENDING" and now["attempts"] == 0 and now["transient_errors"] == 0
    assert now["next_check_at"] <= time.time() + 1 and now["due_shard"] == "0"
    assert now["retries"] == 1 and "outcome" not in now and "expires_at" not in now
    assert [p["status"] for p in now["previous_outcomes"]] == ["FAILED"]
    # And the next sweep asks again; the same FAILED is published under a new event_id, with the correlation
    handler_ticks()
    [second] = messages(stack)
    jsonschema.validate(second, SCHEMA)
    assert second["event_id"] == "r-1:FAILED:retry-1" and second["status"] == "FAILED"
    assert second["correlation"] == {"job": "42"} and second["attempts"] == 1


def test_retry_by_status_and_date_takes_only_those_finished_since(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    day = 86_400
    put(stack, request_id="old", status="EXPIRED", finished_at=1_800_000_000 - 3 * day, outcome={"status": "EXPIRED"})
    put(stack, request_id="new", status="EXPIRED", finished_at=1_800_000_000, outcome={"status": "EXPIRED"})
    put(stack, request_id="failed", status="FAILED", finished_at=1_800_000_000, outcome={"status": "FAILED"})
    since = time.strftime("%Y-%m-%d", time.gmtime(1_800_000_000 - day))
    code, out, _ = cli(capsys, "retry", "--status", "EXPIRED", "--since", since)
    assert code == 0 and out.strip() == "retried new (EXPIRED -> PENDING, retry 1)"
    assert [item(stack, r)["status"] for r in ("old", "new", "failed")] == ["EXPIRED", "PENDING", "FAILED"]


def test_a_retried_expired_request_gets_a_fresh_max_age(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a request that expired three days after its submission
    sim.script("slow", Step.pending())
    register(stack.client("dynamodb"), stack.table, "slow", kind=Kind.GET, submitted_at=int(time.time()) - 3 * 86_400)
    handler_ticks()
    assert item(stack, "slow")["status"] == "EXPIRED"
    # When it is retried and swept again, it is still pending rather than expired at once
    assert cli(capsys, "retry", "slow")[0] == 0
    handler_ticks()
    assert item(stack, "slow")["status"] == "PENDING" and item(stack, "slow")["attempts"] == 1


def test_retry_refuses_other_states_and_unknown_ids_with_exit_1(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    put(stack, request_id="done", status="COMPLETED", outcome={"status": "COMPLETED"})
    put(stack, request_id="waiting", status="PENDING", due_shard="0", next_check_at=0)
    before = item(stack, "done"), item(stack, "waiting")
    code, out, err = cli(capsys, "retry", "done", "waiting", "ghost", "--json")
    assert code == 1 and json.loads(out) == {
        "retried": [],
        "refused": {
            "done": "done is COMPLETED; only FAILED or EXPIRED requests are retried",
            "waiting": "waiting is PENDING; only FAILED or EXPIRED requests are retried",
            "ghost": "no such request",
        },
    }
    assert "no request 'ghost'" in err
    assert (item(stack, "done"), item(stack, "waiting")) == before
    assert cli(capsys, "retry", "done", "--status", "FAILED")[0] == 2  # ids or --status, not both
    assert cli(capsys, "retry")[0] == 2


def test_a_retry_racing_a_sweep_or_another_operator_writes_nothing(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a FAILED request an operator has read
    sim.script("race", Step.error(200, 3005, "Invalid Profile ID"), Step.done_update(1, None))
    register(stack.client("dynamodb"), stack.table, "race", kind=Kind.UPDATE)
    handler_ticks()
    ops = DynamoOperations(stack.client("dynamodb"), stack.table)
    seen = ops.get("race")
    assert seen is not None and seen["status"] == "FAILED"
    # When, before that operator writes, another operator retries it and a sweep completes it
    assert cli(capsys, "retry", "race")[0] == 0
    handler_ticks()
    settled = item(stack, "race")
    assert settled["status"] == "COMPLETED"
    # Then the first operator's retry is refused and the completed request is untouched
    now = int(time.time())
    with pytest.raises(Refused, match="changed since it was read"):
        ops.retry(seen, retry_values(seen, now), "0", now)
    assert item(stack, "race") == settled
    # And subscribers saw the failure and the completion under two event_ids
    assert [m["event_id"] for m in messages(stack)] == ["race:FAILED", "race:COMPLETED:retry-1"]


def test_previous_outcomes_are_bounded_newest_first(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    history = [{"status": "FAILED", "reason": f"run {n}"} for n in range(PREVIOUS_OUTCOMES_KEPT, 0, -1)]
    put(
        stack,
        request_id="often",
        status="FAILED",
        retries=PREVIOUS_OUTCOMES_KEPT,
        outcome={"status": "FAILED", "reason": "latest"},
        previous_outcomes=history,
    )
    assert cli(capsys, "retry", "often")[0] == 0
    kept = item(stack, "often")["previous_outcomes"]
    assert len(kept) == PREVIOUS_OUTCOMES_KEPT
    assert [p["reason"] for p in kept] == ["latest", *[h["reason"] for h in history[:-1]]]
    assert item(stack, "often")["retries"] == PREVIOUS_OUTCOMES_KEPT + 1


def test_republish_sends_the_stored_outcome_again_with_its_original_event_id(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.script("pub", Step.done_update(4, None))
    register(stack.client("dynamodb"), stack.table, "pub", kind=Kind.UPDATE)
    handler_ticks()
    [original] = messages(stack)
    stored = item(stack, "pub")
    code, out, _ = cli(capsys, "republish", "pub", "--json")
    assert code == 0 and json.loads(out) == {"request_id": "pub", "event_id": "pub:COMPLETED", "published": True}
    [again] = messages(stack)
    assert again == original  # the same body, event_id included
    assert item(stack, "pub") == stored  # the item is not touched
    register(stack.client("dynamodb"), stack.table, "waiting")
    code, _, err = cli(capsys, "republish", "waiting")
    assert code == 1 and "only a finished request has an outcome" in err
    assert messages(stack) == []


def test_stats_counts_states_due_and_the_oldest_pending_and_says_it_scans(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    now = int(time.time())
    put(stack, request_id="p-due", status="PENDING", due_shard="0", next_check_at=0, submitted_at=now - 7200)
    put(stack, request_id="p-later", status="PENDING", due_shard="0", next_check_at=now + 600, submitted_at=now - 60)
    put(stack, request_id="c-1", status="COMPLETED")
    put(stack, request_id="f-1", status="FAILED")
    put(stack, request_id="f-2", status="FAILED")
    code, out, err = cli(capsys, "stats", "--json")
    figures = json.loads(out)
    assert code == 0 and "scans the whole table" in err
    assert figures["counts"] == {"PENDING": 2, "COMPLETED": 1, "FAILED": 2, "EXPIRED": 0}
    assert figures["due_now"] == 1 and figures["oldest_pending_request_id"] == "p-due"
    assert 7200 <= figures["oldest_pending_age_seconds"] < 7300 and figures["scanned_items"] == 5
    code, text, _ = cli(capsys, "stats")
    assert code == 0 and "FAILED     2" in text and "due now    1" in text and "(p-due)" in text


def test_read_commands_take_json(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    register(stack.client("dynamodb"), stack.table, "j-1", kind=Kind.GET)
    code, out, _ = cli(capsys, "show", "j-1", "--json")
    assert code == 0 and json.loads(out)["request_id"] == "j-1" and out.count("\n") == 1
    code, out, _ = cli(capsys, "list", "--json")
    assert code == 0 and [json.loads(line)["request_id"] for line in out.splitlines()] == ["j-1"]


def test_the_table_comes_from_table_or_the_stack_outputs(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TABLE_NAME")
    put(stack, request_id="s-1", status="FAILED")
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"RequestsTableName": {"Value": stack.table}},
    }
    stack.client("cloudformation").create_stack(StackName="pp-prod", TemplateBody=json.dumps(template))
    code, out, _ = cli(capsys, "stats", "--stack", "pp-prod", "--json")
    assert code == 0 and json.loads(out)["counts"]["FAILED"] == 1
    code, out, _ = cli(capsys, "stats", "--table", stack.table, "--json")
    assert code == 0 and json.loads(out)["scanned_items"] == 1
    code, out, _ = cli(capsys, "stats", "--table", stack.table, "--stack", "no-such-stack", "--json")
    assert code == 0 and json.loads(out)["scanned_items"] == 1  # --table goes first: the stack is not read
    code, _, err = cli(capsys, "stats", "--stack", "no-such-stack")
    assert code == 2 and err == "profile-poller: stack 'no-such-stack': Stack with id no-such-stack does not exist\n"
    bare = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    stack.client("cloudformation").create_stack(StackName="bare", TemplateBody=json.dumps(bare))
    code, _, err = cli(capsys, "stats", "--stack", "bare")
    assert code == 2 and "stack 'bare' has no output RequestsTableName" in err
    code, _, err = cli(capsys, "stats")
    assert code == 2 and "no table" in err


def test_a_stack_that_cannot_be_read_without_credentials_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no table name and no AWS credentials anywhere (no IMDS: nothing leaves the machine)
    for name in ("TABLE_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # When the table is to be found from a stack, the operator reads why the stack could not be read
    code, out, err = cli(capsys, "stats", "--stack", "pp-prod")
    assert (code, out) == (2, "")
    assert err == "profile-poller: stack 'pp-prod' could not be read: Unable to locate credentials\n"
