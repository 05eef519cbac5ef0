"""A second registration carrying a task token for a known request (review item 7): a pending request takes the
new token in place of the earlier one (the latest registration wins) and is not moved otherwise; a finished one
is called back at once with its stored outcome and not written. A duplicate without a token changes nothing."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest

from profile_poller.core.items import outcome_map
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.ports import CallbackRefused, CallbackUnavailable, StoreError
from profile_poller.core.registration import Result, register

NOW = 1_800_000_000


class Table:
    """The registration door's view of the table: put if new, and the conditional SET task_token."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_new(self, item: Mapping[str, Any]) -> bool:
        if item["request_id"] in self.items:
            return False
        self.items[str(item["request_id"])] = dict(item)
        return True

    def adopt_token(self, request_id: str, token: str) -> Mapping[str, Any] | None:
        item = self.items.get(request_id)
        if item is None or item.get("status") != "PENDING":
            return copy.deepcopy(item or {})
        item["task_token"] = token
        return None


class Sfn:
    def __init__(self, answer: Exception | None = None) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.answer = answer

    def succeed(self, token: str, output: str) -> None:
        self.calls.append(("success", token, output))
        if self.answer:
            raise self.answer

    def fail(self, token: str, error: str, cause: str) -> None:
        self.calls.append((error, token, cause))
        if self.answer:
            raise self.answer

    def heartbeat(self, token: str) -> None:
        raise AssertionError("a registration never heartbeats")


class Kept:
    def keep(self, body: str, reason: str) -> None:
        raise AssertionError(f"nothing is rejected here: {reason}")


def _register(table: Table, sfn: Sfn, token: str | None, at: int = NOW) -> Result:
    detail: dict[str, Any] = {"request_id": "r-1", "kind": "update"}
    if token is not None:
        detail["task_token"] = token
    result, _ = register(json.dumps(detail), table, Kept(), at, tokens=table, tasks=sfn)
    return result


def _finish(table: Table, status: Status) -> None:
    item = table.items["r-1"]
    outcome = Outcome(
        "r-1", status, Kind.UPDATE, NOW, NOW + 60, 3, update_count=1 if status is Status.COMPLETED else None
    )
    item.update(status=status.value, outcome=outcome_map(outcome), finished_at=NOW + 60)
    item.pop("task_token", None)


def test_a_pending_request_takes_the_latest_token_and_is_not_moved() -> None:
    table, sfn = Table(), Sfn()
    assert _register(table, sfn, "token-of-execution-1") is Result.REGISTERED
    before = dict(table.items["r-1"])
    assert _register(table, sfn, "token-of-execution-2", at=NOW + 100) is Result.DUPLICATE
    after = table.items["r-1"]
    assert after["task_token"] == "token-of-execution-2"
    assert {k: v for k, v in after.items() if k != "task_token"} == {
        k: v for k, v in before.items() if k != "task_token"
    }
    assert sfn.calls == []


def test_a_pending_request_registered_without_a_token_takes_one_later() -> None:
    table, sfn = Table(), Sfn()
    _register(table, sfn, None)
    _register(table, sfn, "token-of-execution-2")
    assert table.items["r-1"]["task_token"] == "token-of-execution-2"


def test_a_finished_request_is_called_back_at_once_with_its_stored_outcome() -> None:
    table, sfn = Table(), Sfn()
    _register(table, sfn, "token-of-execution-1")
    _finish(table, Status.COMPLETED)
    finished = copy.deepcopy(table.items["r-1"])
    assert _register(table, sfn, "token-of-execution-2") is Result.DUPLICATE
    assert [(name, token) for name, token, _ in sfn.calls] == [("success", "token-of-execution-2")]
    body = json.loads(sfn.calls[0][2])
    assert body["event_id"] == "r-1:COMPLETED" and body["update_count"] == 1
    assert table.items["r-1"] == finished  # never written: a duplicate never moves a request


@pytest.mark.parametrize(
    ("status", "error"), [(Status.FAILED, "ProfileRequestFailed"), (Status.EXPIRED, "ProfileRequestExpired")]
)
def test_a_failed_or_expired_request_fails_the_late_task(status: Status, error: str) -> None:
    table, sfn = Table(), Sfn()
    _register(table, sfn, None)
    _finish(table, status)
    _register(table, sfn, "late")
    assert [(name, token) for name, token, _ in sfn.calls] == [(error, "late")]


def test_a_late_token_step_functions_refuses_is_not_retried() -> None:
    table, sfn = Table(), Sfn(CallbackRefused("TaskTimedOut"))
    _register(table, sfn, None)
    _finish(table, Status.COMPLETED)
    assert _register(table, sfn, "late") is Result.DUPLICATE


def test_a_late_callback_that_may_pass_later_sends_the_record_back_to_its_queue() -> None:
    table, sfn = Table(), Sfn(CallbackUnavailable("ThrottlingException"))
    _register(table, sfn, None)
    _finish(table, Status.COMPLETED)
    with pytest.raises(StoreError) as raised:
        _register(table, sfn, "late-token-value")
    assert "late-token-value" not in str(raised.value)
