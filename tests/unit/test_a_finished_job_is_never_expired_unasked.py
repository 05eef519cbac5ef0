"""The truthful outcome (docs/architecture.md "Request states"): once the API gave a request its final answer, the
Campaign job finished, so the request ends COMPLETED even when its file copy is still being retried as MAX_AGE runs
out and the sweep cannot ask (an unreadable key, an outage). Expiring it unasked would tell automation "no final
answer" about a job that ran, and leave its archived files under an EXPIRED request (the chaos run found this)."""

from __future__ import annotations

from profile_poller.core.schedule import check_at
from tests.fakes import FakeFile, json_response
from tests.unit.sweep_world import World, world

__all__ = ["world"]


def test_a_copy_retried_past_max_age_while_the_key_is_unreadable_is_completed_later_not_expired(world: World) -> None:
    # Given a request 60 s short of MAX_AGE whose final answer came but whose file copy failed
    max_age = world.settings.max_age_seconds
    world.register("r1", age=max_age - 60, attempts=10, next_check_at=check_at(int(world.clock()) - 1, 10))
    world.api.answers["r1"] = [json_response(200, '{"file": "/f.csv"}'), json_response(200, '{"file": "/f.csv"}')]
    world.api.files["/f.csv"] = [FakeFile(b"abc" * 10, fail_after=5), FakeFile(b"abc" * 10)]
    world.sweep()
    assert world.status("r1") == "PENDING"
    # When MAX_AGE runs out while the secret cannot be read (the sweep stops without asking anyone)
    world.until_due("r1")
    world.keys.broken = True
    world.sweep()
    # Then the request is not expired unasked: it waits for a sweep that can ask
    assert world.status("r1") == "PENDING"
    assert world.published("r1") == []
    # And once the key is back, that sweep completes it with its file
    world.keys.broken = False
    world.until_due("r1")
    world.sweep()
    assert world.status("r1") == "COMPLETED"
    [outcome] = world.published("r1")
    assert [f.archived for f in outcome.files] == [True]


def test_a_request_with_no_final_answer_is_still_expired_unasked(world: World) -> None:
    # Given a request past MAX_AGE that never got a final answer, and a secret that cannot be read
    world.register("r2", age=world.settings.max_age_seconds + 5)
    world.keys.broken = True
    # When a sweep runs
    world.sweep()
    # Then it ends EXPIRED without a status call
    assert world.status("r2") == "EXPIRED"
    assert [rid for rid, _ in world.api.asked] == []
