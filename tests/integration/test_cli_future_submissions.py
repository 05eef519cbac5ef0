"""The producer CLI refuses a `submitted_at` more than five minutes ahead with one clear line, writing nothing
(issue 17, item 6), against a moto server and dynalite."""

from __future__ import annotations

import time

import pytest

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.entry.cli import main


def test_a_submitted_at_an_hour_ahead_is_refused_and_nothing_is_written(
    table_stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TABLE_NAME", table_stack.table)
    ahead = int(time.time()) + 3600
    assert main(["register", "req-1", "--kind", "update", "--submitted-at", str(ahead)]) == 2
    err = capsys.readouterr().err
    assert "in the future" in err and "Traceback" not in err
    key = to_dynamo({"request_id": "req-1"})
    assert "Item" not in table_stack.client("dynamodb").get_item(TableName=table_stack.table, Key=key)
