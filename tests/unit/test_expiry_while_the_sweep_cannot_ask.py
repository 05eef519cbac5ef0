"""Requests past MAX_AGE_SECONDS end on time even when the sweep cannot ask the API (review item 4): during an outage
with a backlog, or with the API key unreadable for good, every request ends EXPIRED by MAX_AGE_SECONDS plus one
schedule period, with table writes only (no status call), and nobody is charged."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import Decimal
from random import Random
from typing import Any

from profile_poller.core.items import outcome_map
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.ports import StoreError, TransportError
from profile_poller.core.schedule import check_at
from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE, World, world
from tests.unit.test_waiting_workflows import TOKEN, FakeStepFunctions

__all__ = ["world"]

MAX_AGE = 7200
PERIOD = 300
TIMEOUT = TransportError("ReadTimeout")


def sweeps_until(world: World, seconds: int, **overrides: Any) -> dict[str, float]:
    """A sweep every PERIOD for `seconds`: when each request left PENDING, in seconds from the start."""
    start, ended = world.clock(), dict[str, float]()
    while world.clock() - start <= seconds:
        world.sweep(**overrides)
        for rid, item in world.store.items.items():
            if item["status"] != "PENDING":
                ended.setdefault(rid, world.clock() - start)
        world.clock.advance(PERIOD)
    return ended


def test_an_outage_longer_than_max_age_with_a_backlog_expires_every_request_by_max_age_plus_one_period(
    world: World,
) -> None:
    # Given a backlog of 200 requests and an API that times out on every call, for good
    ids = [f"r{i:03d}" for i in range(200)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [TIMEOUT]
    # When a sweep runs every 5 minutes for MAX_AGE and two periods
    ended = sweeps_until(world, MAX_AGE + 2 * PERIOD, max_age_seconds=MAX_AGE)
    # Then every request ended EXPIRED (never FAILED) by MAX_AGE plus one period, each announced once
    assert sorted(ended) == ids
    assert max(ended.values()) <= MAX_AGE + PERIOD
    assert {world.status(rid) for rid in ids} == {"EXPIRED"}
    assert sorted(o.request_id for o in world.notifier.published) == ids


def test_requests_past_max_age_are_expired_without_a_status_call_once_the_outage_stopped_the_sweep(
    world: World,
) -> None:
    # Given 50 requests past MAX_AGE and an API that times out on every call
    ids = [f"r{i:02d}" for i in range(50)]
    world.register(*ids, age=MAX_AGE + 60)
    for rid in ids:
        world.api.answers[rid] = [TIMEOUT]
    # When one sweep runs (4 status calls in flight at once)
    summary = world.sweep(max_age_seconds=MAX_AGE)
    # Then it stopped for the outage after a handful of calls, and still ended all 50 EXPIRED
    assert summary["stopped"] is not None and "failing across the board" in summary["stopped"]
    assert len(world.api.asked) < 10
    assert {world.status(rid) for rid in ids} == {"EXPIRED"} and summary["expired"] == 50


def test_with_the_api_key_unreadable_for_good_requests_still_expire_at_max_age(world: World) -> None:
    # Given two requests, and a secret that cannot be read (deleted, its KMS key disabled)
    world.register("r-1", "r-2")
    world.keys.broken = True
    # When sweeps run an hour apart for 4 hours, MAX_AGE 2 hours
    ended: dict[str, int] = {}
    for hour in range(5):
        world.sweep(max_age_seconds=MAX_AGE)
        for rid in ("r-1", "r-2"):
            if world.status(rid) != "PENDING":
                ended.setdefault(rid, hour)
        world.clock.advance(3600)
    # Then both ended EXPIRED at the first sweep past MAX_AGE, and the API was never called
    assert ended == {"r-1": 2, "r-2": 2}
    assert world.status("r-1") == world.status("r-2") == "EXPIRED"
    assert world.api.asked == []


def test_a_request_given_back_by_a_stopped_sweep_is_expired_if_past_max_age(world: World) -> None:
    # Given a request past MAX_AGE, claimed while the key cannot be read
    world.register("old", age=MAX_AGE + 1)
    world.keys.broken = True
    # When the sweep stops on the unreadable key
    summary = world.sweep(max_age_seconds=MAX_AGE, concurrency=1)
    # Then the request it claimed is not given back but EXPIRED, without a status call
    assert "API key unavailable" in (summary["stopped"] or "")
    assert world.status("old") == "EXPIRED" and world.api.asked == []
    [outcome] = world.published("old")
    assert outcome.reason == f"no final answer within MAX_AGE_SECONDS={MAX_AGE}"


def test_requests_not_yet_past_max_age_are_left_exactly_where_they_were(world: World) -> None:
    # Given a request the API stops the sweep on (systemic), and one due, not past MAX_AGE, asked 3 times before
    world.register("a-stopper")
    world.api.answers["a-stopper"] = [json_response(403, '{"code": "430"}')]
    due_at = check_at(int(world.clock()) - 10, 3)
    world.register("b-young", age=600, attempts=3, transient_errors=1, next_check_at=due_at)
    # When the sweep stops as systemic before it reaches the second one, and walks the due index for expiry
    summary = world.sweep(max_age_seconds=MAX_AGE, concurrency=1)
    # Then the second is still PENDING, due at the same check with the same attempt count, unleased and uncharged
    assert summary["systemic"] >= 1 and [rid for rid, _ in world.api.asked] == ["a-stopper"]
    item = world.store.items["b-young"]
    assert item["status"] == "PENDING" and item["next_check_at"] == due_at
    assert item["transient_errors"] == 1 and "lease_owner" not in item


def test_a_sweep_stopped_only_by_its_time_budget_does_not_walk_the_due_index(world: World) -> None:
    # Given requests past MAX_AGE and a Lambda with no time to spare
    world.register("r-1", "r-2", age=MAX_AGE + 1)
    world.remaining_ms = 1_000
    # When a sweep runs
    summary = world.sweep(max_age_seconds=MAX_AGE)
    # Then it stops for time without claiming (the next sweep, with time, expires them)
    assert "time budget" in (summary["stopped"] or "") and summary["claimed"] == 0
    assert world.status("r-1") == "PENDING"
    world.remaining_ms = 600_000
    world.sweep(max_age_seconds=MAX_AGE)
    assert world.status("r-1") == world.status("r-2") == "EXPIRED"


def test_the_walk_stops_at_the_sweeps_time_budget(world: World) -> None:
    # Given 30 requests past MAX_AGE, a secret that cannot be read, and a Lambda whose time runs out while the
    # sweep walks the due index (each claim takes 2 s)
    world.register(*(f"r{i:02d}" for i in range(30)), age=MAX_AGE + 1)
    world.keys.broken = True
    world.store.before_claim = lambda rid: world.clock.advance(2)
    end = world.clock() + 120
    deps = SweepDeps(
        world.store, world.api, world.keys, world.archive, world.notifier, world.clock, world.clock.sleep, Random(7)
    )
    # When a sweep runs with 120 s of Lambda time
    Sweep(replace(world.settings, max_age_seconds=MAX_AGE), deps, "o", lambda: int((end - world.clock()) * 1000)).run()
    # Then it expired some and stopped in time; the rest stay PENDING for the next sweep
    expired = [rid for rid in world.store.items if world.status(rid) == "EXPIRED"]
    assert 0 < len(expired) < 30
    assert world.clock() < end


class ReleaseFails(FakeStore):
    """A table that fails when the walk gives `rid` back (the sweep dies there)."""

    def __init__(self, rid: str) -> None:
        super().__init__()
        self.rid = rid

    def release(self, request_id: str, owner: str, next_check_at: Decimal, attempts: int) -> None:
        if request_id == self.rid:
            raise StoreError("the table stopped answering")
        super().release(request_id, owner, next_check_at, attempts)


def stopped_then_walked(store: FakeStore, clock: FakeClock, tasks: Any = None) -> dict[str, Any]:
    """A sweep the API stops as systemic (a 403 on `a-stopper`, 30 s into the call), then walks the due index:
    what fell due during that call is seen by the walk only."""
    api = FakeApi({"a-stopper": [json_response(403, '{"code": "430"}')]}, before_query=lambda rid: clock.advance(30))
    store.put_pending("a-stopper", int(clock()))
    deps = SweepDeps(
        store, api, FakeKeys("k"), FakeArchive(), FakeNotifier(), clock, clock.sleep, Random(7), tasks=tasks
    )
    settings = replace(BASE, max_age_seconds=MAX_AGE, concurrency=1)
    return Sweep(settings, deps, "owner-1", lambda: 600_000).run().as_dict()


def test_a_request_the_walk_claimed_and_could_not_give_back_is_due_again_after_one_check_hold() -> None:
    # Given a request asked 3 times, falling due while the sweep's one status call runs, and a table that fails when
    # the walk gives it back
    clock, store = FakeClock(), ReleaseFails("b-young")
    store.put_pending("b-young", int(clock()) - 600, attempts=3, next_check_at=check_at(int(clock()) + 10, 3))
    # When the sweep stops as systemic and walks the due index
    summary = stopped_then_walked(store, clock)
    # Then the walk's claim holds it as a check's claim does (two status calls' time), its attempts not counted
    assert summary["systemic"] >= 1
    item, now, hold = store.items["b-young"], int(clock()), math.ceil(2 * BASE.http_timeout_seconds) + 1
    assert item["status"] == "PENDING" and item["attempts"] == 3
    assert item["lease_until"] == item["next_check_at"] == check_at(now + hold, 3)


def test_an_outcome_decided_by_a_sweep_that_died_is_announced_by_the_walk_and_its_task_called_back() -> None:
    # Given an outcome decided by a sweep that died before announcing it, due again while the sweep's call runs
    clock, store, sfn = FakeClock(), FakeStore(), FakeStepFunctions()
    decided = Outcome("s-1", Status.COMPLETED, Kind.UPDATE, int(clock()) - 600, int(clock()) - 60, 1)
    store.put_pending(
        "s-1", decided.submitted_at, attempts=1, task_token=TOKEN, settling=outcome_map(decided),
        next_check_at=check_at(int(clock()) + 10, 1),
    )  # fmt: skip
    # When the sweep stops as systemic and walks the due index
    stopped_then_walked(store, clock, sfn)
    # Then the walk announced it, called its waiting task back and finished it
    assert store.items["s-1"]["status"] == "COMPLETED"
    assert [(name, token) for name, token, _ in sfn.finals()] == [("success", TOKEN)]
