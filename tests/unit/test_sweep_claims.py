"""The sweep's claims and leases: a claimed request is held until its next check, given back when a sweep
dies, never worked by two sweeps at once, and kept from other sweeps during a long copy."""

from __future__ import annotations

from typing import Any

from profile_poller.core.schedule import check_at
from tests.fakes import FakeApi, FakeFile, json_response
from tests.unit.sweep_world import BASE, ERRORS, PENDING, World, world

__all__ = ["world"]


def test_still_pending_request_costs_one_write_and_is_due_again_after_the_backoff(world: World) -> None:
    # Given a request the API has not finished
    world.register("r1")
    world.api.answers["r1"] = [PENDING]
    # When a sweep runs
    summary = world.sweep()
    # Then the claim alone scheduled the next check within the backoff window, counted the attempt and holds the
    # request exactly until then: one write, nothing published
    item = world.store.items["r1"]
    assert summary["still_pending"] == 1 and world.store.writes == 1
    assert item["status"] == "PENDING" and item["attempts"] == 1 and item.get("transient_errors", 0) == 0
    now = world.clock()
    assert now < item["next_check_at"] <= now + BASE.backoff_base_seconds * 2
    assert item["lease_until"] == item["next_check_at"]
    assert world.notifier.published == []
    # And no sweep asks again before the next check; the first one after it does, and counts attempt 2
    assert world.sweep(owner="owner-2")["due_seen"] == 0
    world.until_due("r1")
    again = world.sweep(owner="owner-3")
    assert again["still_pending"] == 1 and world.store.items["r1"]["attempts"] == 2
    assert [rid for rid, _ in world.api.asked] == ["r1", "r1"]


def test_a_sweep_that_dies_after_its_claim_gives_the_request_back_at_its_next_check(world: World) -> None:
    world.register("r1")

    def die(request_id: str, credentials: object) -> Any:
        raise KeyboardInterrupt  # the worker dying mid-request: nothing in the sweep catches it, nothing is written

    world.api.query = die  # type: ignore[method-assign]
    world.sweep()
    world.api = FakeApi(answers={"r1": [json_response(200, '{"update-count": 2}')]})
    world.until_due("r1")
    assert world.sweep(owner="owner-2")["completed"] == 1
    assert world.published("r1")[0].attempts == 2  # the dead sweep's call is counted too


def test_a_check_that_stays_pending_after_transient_errors_resets_the_count(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(500, "{}"), PENDING]
    world.others_answer()  # others get answers: the failure is charged
    world.sweep(concurrency=1)
    assert world.store.items["r1"]["transient_errors"] == 1
    world.until_due("r1")
    writes = world.store.writes
    world.sweep(owner="owner-2")
    assert world.store.items["r1"]["transient_errors"] == 0 and world.store.writes == writes + 2


def test_lost_claim_race_skips_the_item(world: World) -> None:
    world.register("r1", "r2")

    def rival_claims(rid: str) -> None:
        if rid == "r1":
            world.store.items["r1"].update(lease_owner="rival", lease_until=int(world.clock()) + 900)

    world.store.before_claim = rival_claims
    summary = world.sweep()
    assert summary["lost_races"] == 1 and summary["claimed"] == 1
    assert world.store.items["r1"]["lease_owner"] == "rival"
    assert [rid for rid, _ in world.api.asked] == ["r2"]


def test_expired_lease_of_a_dead_sweep_is_taken_over(world: World) -> None:
    world.register("r1", lease_owner="dead", lease_until=int(world.clock()) - 1)
    world.api.answers["r1"] = [json_response(200, '{"update-count": 1}')]
    world.sweep()
    assert world.status("r1") == "COMPLETED"


def test_a_long_copy_of_a_large_file_keeps_the_request_from_other_sweeps(world: World) -> None:
    # Given a finished request whose file comes without a size (so it may be large) and takes ten minutes to copy
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"error-file": "/files/e.csv", "update-count": 1}')]
    world.api.files["/files/e.csv"] = [FakeFile(ERRORS, sized=False)]
    rival: dict[str, Any] = {}
    put = world.archive.put

    def slow_put(key: str, body: Any, metadata: Any) -> str:
        if not rival:
            world.clock.advance(600)  # far past the claim's hold (the next check)
            now = int(world.clock())
            entries = list(world.store.due_ids("0", now))  # a rival sweep tries to claim whatever is due
            rival["claimed"] = sum(
                1 for d in entries if world.store.claim(d, "rival", now, check_at(now + 60, d.attempts + 1), 1)
            )
        return put(key, body, metadata)

    world.archive.put = slow_put  # type: ignore[method-assign]
    # When a sweep copies it while another sweep runs
    summary = world.sweep()
    # Then the lease was extended before the copy: the rival found nothing to claim, and one outcome went out
    assert world.store.extended == ["r1"]
    assert rival["claimed"] == 0 and summary["completed"] == 1 and len(world.published("r1")) == 1


def test_a_small_sized_file_is_copied_without_extending_the_lease(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"error-file": "/files/e.csv", "update-count": 1}')]
    world.api.files["/files/e.csv"] = [FakeFile(ERRORS)]
    assert world.sweep()["completed"] == 1
    assert world.store.extended == [] and world.store.writes == 3  # claim, decide, terminal write
