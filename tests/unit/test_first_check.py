"""The first check of a request under the age-capped cadence: at BACKOFF_BASE_SECONDS of age, not the second it
is registered (a job is rarely done then; the call would be spent on nearly every request)."""

from __future__ import annotations

from typing import Any

from profile_poller.core.schedule import check_at
from tests.fakes import json_response
from tests.unit.sweep_world import World, world

__all__ = ["world"]

FINAL = json_response(200, '{"update-count": 1}')
CADENCE: dict[str, Any] = {"backoff_base_seconds": 20.0, "backoff_age_fraction": 0.15}


def test_a_request_registered_seconds_ago_is_given_back_due_at_its_first_checks_age(world: World) -> None:
    # Given a request registered 5 s ago
    world.register("r1", age=5)
    submitted = int(world.clock()) - 5
    # When a sweep with the age-capped cadence runs
    world.sweep(**CADENCE)
    # Then the API was not asked; the request is due at 20 s of age, never asked, unleased
    item = world.store.items["r1"]
    assert world.api.asked == []
    assert item["next_check_at"] == submitted + 20 and "attempts" not in item and "lease_owner" not in item


def test_a_request_older_than_the_first_checks_age_is_asked_at_once(world: World) -> None:
    world.register("r1", age=20)
    world.sweep(**CADENCE)
    assert [r for r, _ in world.api.asked] == ["r1"]


def test_a_request_asked_once_already_is_asked_when_due_however_young(world: World) -> None:
    # Given a request registered 5 s ago and asked once already (a 429's short Retry-After: due again since a second)
    world.register("r1", age=5, attempts=1, next_check_at=check_at(int(world.clock()) - 1, 1))
    # When a sweep with the age-capped cadence runs
    world.sweep(**CADENCE)
    # Then it is asked now: only a request never asked waits for its first check's age
    assert [r for r, _ in world.api.asked] == ["r1"]


def test_with_the_plain_exponential_backoff_a_new_request_is_asked_at_once(world: World) -> None:
    world.register("r1")
    world.sweep(backoff_base_seconds=20.0)
    assert [r for r, _ in world.api.asked] == ["r1"]


def test_a_sweep_that_stays_up_asks_a_new_request_at_its_first_checks_age(world: World) -> None:
    # Given a job registered now that is already done
    world.register("r1")
    start = world.clock()
    world.api.answers["r1"] = [FINAL]
    asked_at: list[float] = []

    def note(_: str) -> None:
        asked_at.append(world.clock())

    world.api.before_query = note
    # When a sweep with the cadence and a stay-up runs
    world.sweep(stay_up_seconds=55, **CADENCE)
    # Then it was asked once, 20 s after registration (the sweep waited for it), and announced
    assert asked_at == [start + 20] and world.status("r1") == "COMPLETED"
