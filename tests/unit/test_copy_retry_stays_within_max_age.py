"""A file copy that fails at a request's last check before MAX_AGE (review item 9) is retried at the moment
MAX_AGE_SECONDS runs out, never later: the request then ends by MAX_AGE plus one period, like any other."""

from __future__ import annotations

from profile_poller.core.schedule import check_at
from tests.fakes import FakeFile, json_response
from tests.unit.sweep_world import World, world

__all__ = ["world"]


def test_a_copy_failing_just_before_max_age_is_retried_when_max_age_runs_out(world: World) -> None:
    # Given a request 60 s short of MAX_AGE, at its 10th check (backoff far longer than 60 s), whose file breaks
    max_age = world.settings.max_age_seconds
    world.register("r1", age=max_age - 60, attempts=10, next_check_at=check_at(int(world.clock()) - 1, 10))
    world.api.answers["r1"] = [json_response(200, '{"file": "/f.csv"}')]
    world.api.files["/f.csv"] = [FakeFile(b"abc" * 10, fail_after=5), FakeFile(b"abc" * 10)]
    # When the sweep copies it and the copy fails
    world.sweep()
    # Then the retry is due no later than MAX_AGE
    item = world.store.items["r1"]
    deadline = item["submitted_at"] + max_age
    assert item["status"] == "PENDING" and int(item["next_check_at"]) <= deadline  # (the fraction: attempts)
    # And the sweep at that moment ends the request
    world.until_due("r1")
    world.sweep()
    assert world.status("r1") == "COMPLETED"
    [outcome] = world.published("r1")
    assert outcome.finished_at <= deadline + 1
