"""Step Functions calls are inside the sweep's time budget (review item 2): a slow states endpoint (each call at the
client policy's worst case) never runs the sweep past its Lambda's time, callbacks that no longer fit are left for
a later sweep, and heartbeats are skipped when the sweep is short of time."""

from __future__ import annotations

import random
from dataclasses import replace

from profile_poller.adapters.stepfunctions import StepFunctionsCallbacks
from profile_poller.core.budget import TimeBudget
from profile_poller.core.ports import CallbackUnavailable
from profile_poller.core.sweep import Sweep, SweepDeps
from profile_poller.entry.aws import AwsPolicy
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE, PENDING

WORST = 35.0  # entry/aws.py ClientPolicy(4, 2.0, 5.0).worst_call_seconds()
LAMBDA = 900.0


class Slow:
    """Every Step Functions call takes WORST seconds, then fails as a connect timeout."""

    def __init__(self, clock: FakeClock, fails: bool = True) -> None:
        self.clock = clock
        self.fails = fails
        self.calls = 0

    def _slow(self) -> None:
        self.calls += 1
        self.clock.sleep(WORST)
        if self.fails:
            raise CallbackUnavailable("ConnectTimeoutError")

    def succeed(self, token: str, output: str) -> None:
        self._slow()

    def fail(self, token: str, error: str, cause: str) -> None:
        self._slow()

    def heartbeat(self, token: str) -> None:
        self._slow()


def _run(clock: FakeClock, store: FakeStore, api: FakeApi, tasks: Slow) -> tuple[float, dict[str, object]]:
    start = clock()
    deadline = start + LAMBDA
    deps = SweepDeps(store, api, FakeKeys("k"), FakeArchive(), FakeNotifier(), clock, clock.sleep, random.Random(7))
    deps.tasks = tasks
    summary = Sweep(replace(BASE, concurrency=1), deps, "o", lambda: int(max(0.0, deadline - clock()) * 1000)).run()
    return clock() - start, summary.as_dict()


def test_slow_callbacks_never_run_the_sweep_past_its_lambda_time() -> None:
    # Given 60 finished requests with task tokens and a states endpoint at its worst case
    clock, store, api = FakeClock(), FakeStore(), FakeApi()
    for i in range(60):
        rid = f"r{i:02d}"
        store.put_pending(rid, int(clock()) - 60, task_token=f"tok-{rid}")
        api.answers[rid] = [json_response(200, '{"update-count": 1}')]
    # When a sweep runs in a 900-second Lambda
    took, summary = _run(clock, store, api, Slow(clock))
    # Then it ends within the Lambda's time, keeping its margin, and stopped for the budget
    assert took <= LAMBDA - BASE.time_margin_seconds
    assert "time budget" in str(summary["stopped"])
    # And nothing is lost: every request is pending (settling) or finished, none leased past the sweep
    assert all(i["status"] in ("PENDING", "COMPLETED") for i in store.items.values())


def test_slow_heartbeats_never_run_the_sweep_past_its_lambda_time() -> None:
    clock, store, api = FakeClock(), FakeStore(), FakeApi()
    for i in range(60):
        rid = f"p{i:02d}"
        store.put_pending(rid, int(clock()) - 60, task_token=f"tok-{rid}")
        api.answers[rid] = [PENDING]
    tasks = Slow(clock)
    took, _ = _run(clock, store, api, tasks)
    assert took <= LAMBDA - BASE.time_margin_seconds
    assert tasks.calls < 60  # the sweep stopped asking instead of heartbeating past its time


def test_the_reserve_holds_a_batch_of_callbacks_at_the_slowest_seen() -> None:
    clock = FakeClock()
    budget = TimeBudget(BASE, lambda: 900_000, clock)
    before = budget.reserve_seconds()
    tasks = budget.watch_tasks(Slow(clock, fails=False))
    assert tasks is not None
    tasks.heartbeat("tok")
    # a heartbeat and a batch of ten callbacks, at the slowest Step Functions call seen
    assert budget.reserve_seconds() - before == 11 * WORST


def test_a_callback_that_no_longer_fits_is_left_for_a_later_sweep_and_a_heartbeat_skipped() -> None:
    clock = FakeClock()
    left = [900_000]
    budget = TimeBudget(BASE, lambda: left[0], clock)
    counted: list[str] = []
    tasks = Slow(clock, fails=False)
    callbacks = budget.callbacks(budget.watch_tasks(tasks), counted.append)
    callbacks.heartbeat("r1", "tok")  # fits: sent and timed
    assert tasks.calls == 1 and counted == ["heartbeats"]
    left[0] = int((BASE.time_margin_seconds + WORST - 1) * 1000)  # less than a callback after the margin
    assert not budget.may_call_back()
    callbacks.heartbeat("r1", "tok")
    assert tasks.calls == 1 and counted[-1] == "heartbeats_skipped"


def test_heartbeats_use_a_one_try_client_with_short_timeouts() -> None:
    policy = AwsPolicy()
    assert policy.heartbeats.total_max_attempts == 1
    assert policy.heartbeats.worst_call_seconds() <= 3.0 < policy.stepfunctions.worst_call_seconds()

    class Client:
        def __init__(self) -> None:
            self.beats = 0

        def send_task_heartbeat(self, taskToken: str) -> None:  # boto3's spelling
            self.beats += 1

    callbacks, beats = Client(), Client()
    StepFunctionsCallbacks(callbacks, heartbeats=beats).heartbeat("tok")
    assert (callbacks.beats, beats.beats) == (0, 1)
