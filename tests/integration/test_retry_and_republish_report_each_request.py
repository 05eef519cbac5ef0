"""What `retry` and `republish` tell the operator: one line per retried request (with its retry number), one stderr
line per refused one, "retried nothing", and exit 1 unless everything asked for was done (docs/operations.md)."""

from __future__ import annotations

import pytest

from local.stack import LocalStack
from tests.integration.by_hand import cli, put


@pytest.fixture(autouse=True)
def table(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", stack.table)
    monkeypatch.setenv("TOPIC_ARN", stack.topic_arn)


def test_each_retried_request_is_one_line_with_its_next_retry_number(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a failure already retried twice and a first-time expiry
    put(stack, request_id="twice", status="FAILED", retries=2, outcome={"status": "FAILED"})
    put(stack, request_id="once", status="EXPIRED", outcome={"status": "EXPIRED"})
    # When both are retried
    code, out, err = cli(capsys, "retry", "twice", "once")
    # Then each has its line, in the order given, and the command succeeds
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "retried twice (FAILED -> PENDING, retry 3)",
        "retried once (EXPIRED -> PENDING, retry 1)",
    ]


def test_a_retry_refused_for_its_state_says_why_and_exits_1_even_if_others_were_retried(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    put(stack, request_id="failed", status="FAILED", outcome={"status": "FAILED"})
    put(stack, request_id="done", status="COMPLETED", outcome={"status": "COMPLETED"})
    code, out, err = cli(capsys, "retry", "failed", "done")
    assert code == 1
    assert out.splitlines() == ["retried failed (FAILED -> PENDING, retry 1)"]
    assert err.splitlines() == [
        "profile-poller: not retried: done is COMPLETED; only FAILED or EXPIRED requests are retried"
    ]


def test_a_retry_by_status_that_finds_nothing_says_so_and_exits_1(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    put(stack, request_id="failed", status="FAILED", outcome={"status": "FAILED"})
    assert cli(capsys, "retry", "--status", "EXPIRED") == (1, "retried nothing\n", "")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["retry"], "retry takes request-ids or --status FAILED|EXPIRED"),
        (["retry", "r-1", "--status", "FAILED"], "retry takes request-ids or --status [--since], not both"),
        (["retry", "--since", "2026-11-27"], "--since needs --status"),
    ],
)
def test_a_retry_without_ids_or_status_or_with_both_says_how_to_call_it(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli(capsys, *argv) == (2, "", f"profile-poller: {message}\n")


def test_republishing_an_unknown_request_is_one_stderr_line_and_exit_1(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(capsys, "republish", "ghost") == (1, "", "profile-poller: no request 'ghost'\n")
