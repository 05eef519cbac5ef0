"""`list --status S`: one line per request in that state (its id, status and outcome counts), or one JSON object per
line with --json; PENDING requests are read from every due shard (DUE_SHARDS)."""

from __future__ import annotations

import json

import pytest

from local.stack import LocalStack
from profile_poller.core.registration import due_shard_for
from profile_poller.entry.cli import main
from tests.integration.by_hand import put


@pytest.fixture(autouse=True)
def table(table_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", table_stack.table)


def listed(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    capsys.readouterr()
    assert main(["list", *argv]) == 0
    return sorted(capsys.readouterr().out.splitlines())


def test_finished_requests_are_listed_with_their_update_and_error_counts(
    table_stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two completed requests, one still pending and one failed
    put(table_stack, request_id="c-1", status="COMPLETED", outcome={"update_count": 3, "error_count": 1})
    put(table_stack, request_id="c-2", status="COMPLETED", outcome={"update_count": 7, "error_count": 0})
    put(table_stack, request_id="f-1", status="FAILED", outcome={"reason": "Invalid Profile ID"})
    put(table_stack, request_id="p-1", status="PENDING", due_shard="0", next_check_at=0)
    # When the operator lists the completed ones
    lines = listed(capsys, "--status", "COMPLETED")
    # Then each completed request is a line with its counts, and no other state is listed
    assert lines == [
        "c-1\tCOMPLETED\tupdate_count=3\terror_count=1",
        "c-2\tCOMPLETED\tupdate_count=7\terror_count=0",
    ]
    assert listed(capsys, "--status", "FAILED") == ["f-1\tFAILED\tupdate_count=None\terror_count=None"]
    shown = [json.loads(line) for line in listed(capsys, "--status", "COMPLETED", "--json")]
    assert sorted((s["request_id"], s["outcome"]["update_count"]) for s in shown) == [("c-1", 3), ("c-2", 7)]


def test_pending_requests_are_listed_from_every_due_shard(
    table_stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a table with two due shards, and requests registered over both
    monkeypatch.setenv("DUE_SHARDS", "2")
    ids = [f"req-{n}" for n in range(6)]
    assert {due_shard_for(i, 2) for i in ids} == {"0", "1"}
    for request_id in ids:
        assert main(["register", request_id]) == 0
        assert json.loads(capsys.readouterr().out)["due_shard"] == due_shard_for(request_id, 2)
    # When the operator lists what is pending, every one of them is there
    assert [line.split("\t")[0] for line in listed(capsys, "--status", "PENDING")] == ids
