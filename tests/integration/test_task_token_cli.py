"""The CLI and the Python helper as doors for a Step Functions task token (issue 19), against the moto server and
dynalite: the token is stored on the item, read from stdin with `--task-token -`, never printed."""

from __future__ import annotations

import io
import json

import pytest

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import from_dynamo
from profile_poller.core.model import Kind
from profile_poller.entry import producer
from profile_poller.entry.cli import main

TOKEN = "AAAAKgAAAAIAAAAAAAAAAcli" * 30


@pytest.fixture(autouse=True)
def table(table_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", table_stack.table)


def stored(stack: LocalStack, rid: str) -> dict[str, object]:
    raw = stack.client("dynamodb").get_item(TableName=stack.table, Key={"request_id": {"S": rid}})["Item"]
    return from_dynamo(raw)


def test_register_reads_the_token_from_stdin_stores_it_and_shows_only_that_it_is_set(
    table_stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    assert main(["register", "tok-1", "--kind", "update", "--task-token", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["task_token"] == "set"
    assert stored(table_stack, "tok-1")["task_token"] == TOKEN
    assert main(["show", "tok-1"]) == 0
    assert main(["list", "--status", "PENDING", "--json"]) == 0
    out = capsys.readouterr().out
    assert TOKEN not in out and '"task_token": "set"' in out


def test_a_token_over_2048_characters_is_a_clear_error_without_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "tok-2", "--task-token", "z" * 2049]) == 2
    err = capsys.readouterr().err
    assert "task_token must have 1 to 2048 characters, got 2049" in err and "zzzz" not in err


def test_the_python_helper_stores_the_token(table_stack: LocalStack) -> None:
    client = table_stack.client("dynamodb")
    item = producer.register(client, table_stack.table, "tok-3", kind=Kind.GET, task_token=TOKEN)
    assert item["task_token"] == TOKEN == stored(table_stack, "tok-3")["task_token"]
