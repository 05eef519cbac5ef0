"""A request registered with a Step Functions task token: its waiting task is called back when the request
finishes, told it is alive while it is pending, and a token Step Functions refuses never holds the outcome back
(issue 19). Sweeps in the in-memory world with a fake Step Functions."""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field

import pytest

from profile_poller.core.ports import CallbackRefused, CallbackUnavailable
from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE, PENDING

TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAA" + "t0k3n" * 40  # as long and opaque as Step Functions issues them


@dataclass
class FakeStepFunctions:
    """Records every callback; `answers` raises the listed errors, one a call, before calls succeed."""

    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    answers: list[Exception] = field(default_factory=list)

    def _call(self, name: str, token: str, **args: str) -> None:
        self.calls.append((name, token, args))
        if self.answers:
            raise self.answers.pop(0)

    def succeed(self, token: str, output: str) -> None:
        self._call("success", token, output=output)

    def fail(self, token: str, error: str, cause: str) -> None:
        self._call("failure", token, error=error, cause=cause)

    def heartbeat(self, token: str) -> None:
        self._call("heartbeat", token)

    def finals(self) -> list[tuple[str, str, dict[str, str]]]:
        return [c for c in self.calls if c[0] != "heartbeat"]


@dataclass
class Workflows:
    clock: FakeClock = field(default_factory=FakeClock)
    store: FakeStore = field(default_factory=FakeStore)
    api: FakeApi = field(default_factory=FakeApi)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    sfn: FakeStepFunctions = field(default_factory=FakeStepFunctions)

    def sweep(self) -> dict[str, object]:
        deps = SweepDeps(
            self.store,
            self.api,
            FakeKeys("key-1"),
            FakeArchive(),
            self.notifier,
            self.clock,
            self.clock.sleep,
            random.Random(7),
            tasks=self.sfn,
        )
        return Sweep(BASE, deps, "owner-1", lambda: 600_000).run().as_dict()

    def register(self, rid: str, token: str | None = TOKEN) -> None:
        self.store.put_pending(rid, int(self.clock()), **({"task_token": token} if token else {}))

    def answer(self, rid: str, body: str) -> None:
        self.api.answers[rid] = [json_response(200, body)]

    def next_sweep(self, rid: str) -> dict[str, object]:
        self.clock.advance(float(self.store.items[rid]["next_check_at"]) - self.clock() + 1)
        return self.sweep()


@pytest.fixture
def flows() -> Workflows:
    return Workflows()


def test_a_completed_request_sends_its_outcome_to_the_waiting_task(flows: Workflows) -> None:
    flows.register("r1")
    flows.answer("r1", '{"update-count": 5}')
    summary = flows.sweep()
    [(name, token, args)] = flows.sfn.finals()
    assert (name, token) == ("success", TOKEN)
    assert json.loads(args["output"])["update_count"] == 5
    assert summary["callbacks_delivered"] == 1
    item = flows.store.items["r1"]
    assert item["status"] == "COMPLETED" and item["task_callback"] == {"result": "delivered"}
    assert "task_token" not in item  # a finished request keeps no credential


def test_a_failed_request_fails_the_waiting_task_so_its_catch_runs(flows: Workflows) -> None:
    flows.register("r1")
    flows.answer("r1", '{"code": 3005, "description": "Invalid Profile ID"}')
    flows.sweep()
    [(name, _, args)] = flows.sfn.finals()
    assert name == "failure" and args["error"] == "ProfileRequestFailed"
    assert json.loads(args["cause"])["api_code"] == "3005"


def test_an_expired_request_fails_the_waiting_task_with_profile_request_expired(flows: Workflows) -> None:
    flows.store.put_pending("r1", int(flows.clock()) - BASE.max_age_seconds - 1, task_token=TOKEN)
    flows.api.answers["r1"] = [PENDING]
    flows.sweep()
    [(name, _, args)] = flows.sfn.finals()
    assert name == "failure" and args["error"] == "ProfileRequestExpired"


def test_each_check_that_finds_the_request_pending_sends_a_heartbeat(flows: Workflows) -> None:
    flows.register("r1")
    flows.api.answers["r1"] = [PENDING, PENDING]
    flows.sweep()
    flows.next_sweep("r1")
    assert [c[0] for c in flows.sfn.calls] == ["heartbeat", "heartbeat"]
    assert flows.store.items["r1"]["status"] == "PENDING"


def test_a_request_without_a_token_makes_no_callback(flows: Workflows) -> None:
    flows.register("r1", token=None)
    flows.answer("r1", '{"update-count": 1}')
    flows.sweep()
    assert flows.sfn.calls == [] and flows.store.items["r1"]["status"] == "COMPLETED"
    assert "task_callback" not in flows.store.items["r1"]


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
def test_a_refused_token_never_holds_the_outcome_back(flows: Workflows, code: str) -> None:
    # Given a workflow that timed out before the request finished
    flows.register("r1")
    flows.register("r2")
    flows.answer("r1", '{"code": 3005}')
    flows.answer("r2", '{"update-count": 1}')
    flows.sfn.answers = [CallbackRefused(code)]
    # When the sweep settles both
    summary = flows.sweep()
    # Then the outcome is stored, published and the request finished; the refusal is on the item and counted
    item = flows.store.items["r1"]
    assert item["status"] == "FAILED" and item["task_callback"] == {"result": "refused", "error": code}
    assert {o.request_id for o in flows.notifier.published} == {"r1", "r2"}
    assert flows.store.items["r2"]["status"] == "COMPLETED"  # the batch was not stalled
    assert summary["callbacks_refused"] == 1 and summary["failed"] == 1


def test_a_throttled_callback_keeps_the_request_pending_until_it_is_delivered(flows: Workflows) -> None:
    flows.register("r1")
    flows.answer("r1", '{"update-count": 2}')
    flows.sfn.answers = [CallbackUnavailable("ThrottlingException")]
    summary = flows.sweep()
    assert summary["callback_failures"] == 1 and flows.store.items["r1"]["status"] == "PENDING"
    # the next sweep publishes the same outcome again (same event_id) and delivers the callback
    summary = flows.next_sweep("r1")
    assert flows.store.items["r1"]["status"] == "COMPLETED"
    assert [c[0] for c in flows.sfn.finals()] == ["success", "success"]
    assert {o.event_id for o in flows.notifier.published} == {"r1:COMPLETED"}
    assert summary["callbacks_delivered"] == 1


def test_an_unpublished_outcome_makes_no_callback_yet(flows: Workflows) -> None:
    flows.register("r1")
    flows.answer("r1", '{"update-count": 2}')
    flows.notifier.fail_next = 1
    flows.sweep()
    assert flows.sfn.finals() == [] and flows.store.items["r1"]["status"] == "PENDING"
    flows.next_sweep("r1")
    assert len(flows.sfn.finals()) == 1 and flows.store.items["r1"]["status"] == "COMPLETED"


def test_a_heartbeat_to_a_gone_task_is_counted_and_the_check_goes_on(flows: Workflows) -> None:
    flows.register("r1")
    flows.api.answers["r1"] = [PENDING]
    flows.sfn.answers = [CallbackRefused("TaskTimedOut")]
    summary = flows.sweep()
    assert summary["heartbeats_refused"] == 1 and summary["still_pending"] == 1


def test_the_token_never_reaches_a_log_line_or_a_message(flows: Workflows, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for rid, body in (("r1", '{"update-count": 1}'), ("r2", '{"code": 3005}'), ("r3", '{"update-count": 1}')):
        flows.register(rid)
        flows.answer(rid, body)
    flows.sfn.answers = [CallbackRefused("InvalidToken"), CallbackUnavailable("ServiceUnavailable")]
    flows.sweep()
    logged = "".join(repr(vars(r)) for r in caplog.records)  # messages and every extra field
    seen = logged + repr(flows.notifier.published) + repr(flows.store.items["r1"])
    assert TOKEN not in seen and TOKEN[:40] not in seen
    assert "InvalidToken" in logged and "ServiceUnavailable" in logged  # the logs do say what happened
