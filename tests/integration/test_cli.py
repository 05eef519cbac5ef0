"""The producer CLI against a moto server and dynalite: register, show, list, and clear errors."""

from __future__ import annotations

import json

import pytest

from local.stack import LocalStack
from profile_poller.entry.cli import main


@pytest.fixture(autouse=True)
def table(table_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", table_stack.table)


def test_register_show_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    # a time in the past: one ahead of the wall clock is refused
    assert main(["register", "req-1", "--kind", "update", "--submitted-at", "1700000000"]) == 0
    registered = json.loads(capsys.readouterr().out)
    assert registered == {
        "request_id": "req-1",
        "status": "PENDING",
        "due_shard": "0",
        "next_check_at": 0,
        "submitted_at": 1700000000,
        "kind": "update",
    }
    assert main(["show", "req-1"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "update"
    assert main(["list", "--status", "PENDING"]) == 0
    assert capsys.readouterr().out.startswith("req-1\tPENDING")
    assert main(["list", "--status", "COMPLETED"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["register", "a/b"], 2, "invalid request-id"),  # a usage error
        (["show", "nope"], 1, "no request 'nope'"),  # nothing done
        (["show", "x", "--table", "no-such-table"], 3, "AWS call failed: "),  # AWS refused the call
    ],
)
def test_errors_are_one_clear_line(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"profile-poller: {message}") and err.count("\n") == 1 and err.endswith("\n")


def test_registering_twice_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "req-1"]) == 0
    assert main(["register", "req-1"]) == 2
    assert "already registered" in capsys.readouterr().err


def test_missing_table_name_is_named(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TABLE_NAME")
    assert main(["list"]) == 2
    assert capsys.readouterr().err == "profile-poller: no table: give --table NAME or --stack NAME, or set TABLE_NAME\n"


@pytest.mark.parametrize(
    "argv",
    [
        [],  # no command
        ["list", "--status", "BOGUS"],
        ["register", "r-1", "--kind", "bogus"],
        ["retry", "--status", "COMPLETED"],  # only FAILED or EXPIRED are retried
    ],
)
def test_bad_usage_stops_at_the_parser_with_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    out, err = capsys.readouterr()
    assert stopped.value.code == 2 and out == ""
    last = err.splitlines()[-1]
    assert err.startswith("usage: profile-poller ") and last.startswith("profile-poller") and ": error: " in last
