"""Every JSON object the CLI prints has its keys in sorted order, nested ones included, so two runs' outputs diff
line by line; `show` prints the request indented (two spaces) unless --json asks for one line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.entry.cli import main


@pytest.fixture(autouse=True)
def table(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", stack.table)


def key_orders(text: str) -> list[list[str]]:
    """The keys of every JSON object in `text` (one document per line, or one indented document), as printed."""
    seen: list[list[str]] = []

    def keep(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen.append([key for key, _ in pairs])
        return dict(pairs)

    documents = [text] if text.startswith("{\n") else text.splitlines()
    for document in documents:
        json.loads(document, object_pairs_hook=keep)
    return seen


def printed(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) in (0, 1)
    return capsys.readouterr().out


def test_every_json_object_printed_has_sorted_keys(stack: LocalStack, capsys: pytest.CaptureFixture[str]) -> None:
    outcome = {"status": "FAILED", "reason": "Invalid Profile ID", "kind": "update", "attempts": 1}
    stack.client("dynamodb").put_item(
        TableName=stack.table,
        Item=to_dynamo({"request_id": "f-1", "status": "FAILED", "outcome": outcome, "finished_at": 1}),
    )
    outputs = [
        printed(capsys, "register", "r-1", "--kind", "update", "--submitted-at", "1700000000"),
        printed(capsys, "show", "f-1"),
        printed(capsys, "show", "f-1", "--json"),
        printed(capsys, "list", "--status", "FAILED", "--json"),
        printed(capsys, "stats", "--json"),
        printed(capsys, "retry", "f-1", "ghost", "--json"),
    ]
    orders = [order for text in outputs for order in key_orders(text)]
    assert len(orders) >= 10 and all(order == sorted(order) for order in orders)


def test_show_prints_the_request_indented_and_one_line_with_json(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    printed(capsys, "register", "r-1", "--submitted-at", "1700000000")
    pretty = printed(capsys, "show", "r-1")
    assert pretty.startswith('{\n  "') and json.loads(pretty)["request_id"] == "r-1"
    assert printed(capsys, "show", "r-1", "--json") == json.dumps(json.loads(pretty)) + "\n"
