"""A finished request with a task token is called back only when the callback can be made (issue 19): a stack
without a Step Functions client, or a sweep with no time left for the call and its terminal write, leaves the
outcome published and the request settling, offered again later; nothing fails."""

from __future__ import annotations

import random

from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE
from tests.unit.test_waiting_workflows import TOKEN, FakeStepFunctions

COMPLETED = json_response(200, '{"update-count": 5}')


def test_without_a_step_functions_client_the_outcome_is_published_and_the_request_waits() -> None:
    clock, store, sns = FakeClock(), FakeStore(), FakeNotifier()
    store.put_pending("r1", int(clock()), task_token=TOKEN)
    deps = SweepDeps(store, FakeApi({"r1": [COMPLETED]}), FakeKeys("k"), FakeArchive(), sns, clock, clock.sleep)
    summary = Sweep(BASE, deps, "o", lambda: 600_000).run().as_dict()
    assert [o.request_id for o in sns.published] == ["r1"] and summary["errors"] == 0
    assert store.items["r1"]["status"] == "PENDING" and "settling" in store.items["r1"]


def test_a_callback_is_not_started_when_the_sweep_has_no_time_left_for_it() -> None:
    # Given a request with a waiting task, and a Lambda whose time runs below TIME_MARGIN_SECONDS during the call
    clock, store, sfn = FakeClock(), FakeStore(), FakeStepFunctions()
    store.put_pending("r1", int(clock()), task_token=TOKEN)
    end = clock() + BASE.time_margin_seconds + 60
    api = FakeApi({"r1": [COMPLETED]}, before_query=lambda rid: clock.advance(61))
    deps = SweepDeps(
        store, api, FakeKeys("k"), FakeArchive(), FakeNotifier(), clock, clock.sleep, random.Random(7), tasks=sfn
    )
    # When the sweep settles it
    summary = Sweep(BASE, deps, "o", lambda: int((end - clock()) * 1000)).run().as_dict()
    # Then the task was not called (a later sweep does it) and nothing failed
    assert sfn.finals() == [] and summary["errors"] == 0 and summary["callback_failures"] == 0
    assert store.items["r1"]["status"] == "PENDING"
