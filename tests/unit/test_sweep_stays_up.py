"""A sweep that stays up while requests fall due (STAY_UP_SECONDS, core/cadence.py): a short job is announced
seconds after it finished, an idle stack stays cheap, and no sweep waits past its stay-up time or its budget."""

from __future__ import annotations

from dataclasses import replace
from random import Random

import pytest

from profile_poller.core.cadence import LOOK_EVERY_SECONDS
from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import json_response
from tests.unit.sweep_world import PENDING, World, world

__all__ = ["world"]

FINAL = json_response(200, '{"update-count": 1}')


def asked(world: World, rid: str) -> int:
    return sum(1 for r, _ in world.api.asked if r == rid)


def test_an_idle_sweep_ends_after_its_queries_without_taking_the_asking_lease(world: World) -> None:
    # Given nothing pending
    # When a sweep that may stay up runs
    summary = world.sweep(stay_up_seconds=55)
    # Then it wrote nothing (no asking lease taken) and did not wait
    assert world.store.asking is None and world.store.writes == 0
    assert world.clock.slept == 0 and summary["claimed"] == 0 and summary["stopped"] is None


def test_a_request_far_from_due_does_not_keep_a_sweep_up(world: World) -> None:
    # Given a request asked long ago, due again in ten minutes
    world.register("r1")
    world.sweep()
    world.store.items["r1"]["next_check_at"] = world.clock() + 600
    # When a sweep runs
    world.sweep(stay_up_seconds=55)
    # Then it neither asks nor waits
    assert asked(world, "r1") == 1 and world.clock.slept == 0


def test_a_request_falling_due_within_the_stay_up_time_is_asked_in_the_same_sweep(world: World) -> None:
    # Given a job that finishes 25 s after its first check
    world.register("r1")
    start = world.clock()
    world.api.answers["r1"] = [PENDING, FINAL]
    # When one sweep runs and may stay up 55 s
    summary = world.sweep(stay_up_seconds=55)
    # Then it asked twice, announced the outcome within the same invocation and ended before 55 s
    assert asked(world, "r1") == 2 and world.status("r1") == "COMPLETED"
    assert len(world.published("r1")) == 1 and summary["completed"] == 1
    assert world.clock() - start <= 55


def test_without_stay_up_the_next_check_waits_for_the_next_sweep(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [PENDING, FINAL]
    world.sweep()
    assert asked(world, "r1") == 1 and world.status("r1") == "PENDING" and world.clock.slept == 0


def test_a_sweep_never_stays_up_past_its_stay_up_time(world: World) -> None:
    # Given requests the API never finishes, due again every 21 s
    world.register("r1", "r2")
    start = world.clock()
    # When a sweep that may stay up 55 s runs
    world.sweep(stay_up_seconds=55, backoff_base_seconds=0, backoff_max_seconds=0)
    # Then it asked them again while it was up, and ended within 55 s (plus the last pass's own work)
    assert asked(world, "r1") >= 3
    assert world.clock() - start <= 55 + 1
    # and gave the asking lease up for the next sweep
    assert world.store.asking is not None and world.store.asking.owner == ""


def test_a_sweep_never_waits_into_the_time_it_keeps_for_work_in_flight(world: World) -> None:
    # Given a request due again in 21 s, and a Lambda with 70 s left (30 s margin + 25 s for a status call kept)
    world.register("r1")
    start = world.clock()
    settings = replace(world.settings, stay_up_seconds=600, backoff_base_seconds=0, backoff_max_seconds=0)
    deps = SweepDeps(
        world.store, world.api, world.keys, world.archive, world.notifier, world.clock, world.clock.sleep, Random(7)
    )
    # When a sweep that may stay up 600 s runs
    Sweep(settings, deps, "owner-1", lambda: int(70_000 - (world.clock() - start) * 1000)).run()
    # Then it waited the 15 s its budget allowed, and no more
    assert world.clock.slept == pytest.approx(15, abs=1e-9)


def test_a_request_registered_while_the_sweep_waits_is_asked_within_seconds(world: World) -> None:
    # Given a sweep kept up by a request due again in 21 s, and a new request registered 3 s into its wait
    world.register("old")
    start = world.clock()
    sleep = world.clock.sleep
    registered: list[float] = []

    def sleep_and_register(seconds: float) -> None:
        sleep(seconds)
        if not registered and world.clock() - start >= 3:
            registered.append(world.clock())
            world.register("new")

    world.clock.sleep = sleep_and_register  # type: ignore[method-assign]
    asked_at: dict[str, float] = {}

    def note(rid: str) -> None:
        asked_at.setdefault(rid, world.clock())

    world.api.before_query = note
    # When the sweep stays up
    world.sweep(stay_up_seconds=55)
    # Then the new request was asked within LOOK_EVERY_SECONDS of its registration
    assert registered and asked_at["new"] - registered[0] <= LOOK_EVERY_SECONDS


@pytest.mark.parametrize("stay_up", [0, 55])
def test_a_second_sweep_finds_the_asking_lease_held_and_ends(world: World, stay_up: float) -> None:
    # Given a sweep holding the asking lease (one sweep at a time asks, staying up or not)
    world.register("r1")
    world.store.take_asking("other", int(world.clock()), int(world.clock()) + 60)
    # When another sweep runs
    summary = world.sweep(stay_up_seconds=stay_up)
    # Then it asks nothing and says why
    assert world.api.asked == [] and "asking lease" in str(summary["stopped"])


def test_the_rate_limit_holds_across_the_passes_of_a_sweep_that_stays_up(world: World) -> None:
    # Given 30 requests the API never finishes, due again every 21 s, and a tenant limit of 2 calls a second
    world.register(*[f"r{i:02d}" for i in range(30)])
    times: list[float] = []

    def stamp(_: str) -> None:
        times.append(world.clock())

    world.api.before_query = stamp
    # When a sweep stays up 55 s (three passes: at 0 s, then as the requests fall due again)
    world.sweep(
        stay_up_seconds=55, rate_limit_per_second=2, concurrency=1, backoff_base_seconds=0, backoff_max_seconds=0
    )
    # Then it asked them more than once, and never more than 2 calls in any second
    assert len(times) > 30
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) <= 2


def test_a_sweep_that_stops_asking_does_not_stay_up(world: World) -> None:
    # Given requests the API answers 401 (a systemic failure) and one falling due 10 s from now
    world.register(*[f"r{i}" for i in range(6)])
    world.api.answers.update({f"r{i}": [json_response(401, '{"code": 430}')] for i in range(6)})
    world.register("later", next_check_at=world.clock() + 10)
    # When a sweep that may stay up 55 s runs
    summary = world.sweep(stay_up_seconds=55, concurrency=1)
    # Then it stopped at the first answer and ended there: no waiting for the next request, no second pass
    assert "systemic" in str(summary["stopped"]) and world.clock.slept == 0
    assert len(world.api.asked) == 1
