"""The sweep when something fails (the table, the secret, the key, the archive, the notifier, a lease, the time
budget): nothing is lost, the request stays retryable, and systemic failures are logged as alarms."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from profile_poller.core.ports import Credentials, LeaseLost, StoreError
from profile_poller.core.schedule import Due
from tests.fakes import FakeFile, FakeKeys, FakeStore, json_response
from tests.unit import sweep_world
from tests.unit.sweep_world import BASE, World

world = sweep_world.world  # the same fixture
UPDATED = json_response(200, '{"update-count": 5}')


def stops(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, getattr(r, "reason", "")) for r in caplog.records if r.getMessage() == "sweep stops asking"]


class UnreadableShard(FakeStore):
    def due_ids(self, shard: str, now: int) -> Iterator[Due]:
        if shard == "0":
            raise StoreError("querying the due index failed: AccessDenied")
        yield from super().due_ids(shard, now)


def test_an_unreadable_index_stops_the_sweep_as_an_alarm(world: World, caplog: pytest.LogCaptureFixture) -> None:
    store = UnreadableShard()
    store.items = world.store.items
    world.store = store
    world.register("r1", due_shard="1")
    summary = world.sweep(due_shards=2)
    assert summary["systemic"] == 1 and summary["due_seen"] == 0 and world.api.asked == []
    assert summary["stopped"] == "the table could not be read: querying the due index failed: AccessDenied"
    assert stops(caplog) == [("ERROR", summary["stopped"])]


def test_the_time_budget_stops_before_the_next_shard_and_is_a_warning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.register("r0", due_shard="0")
    world.register("r1", due_shard="1")

    def budget_runs_out(rid: str) -> None:
        world.remaining_ms = 0

    world.api.before_query = budget_runs_out
    summary = world.sweep(due_shards=2, concurrency=1)
    assert [rid for rid, _ in world.api.asked] == ["r0"] and summary["due_seen"] == 1
    assert summary["stopped"].startswith("time budget: 0.0 s left, keeping 30 s (TIME_MARGIN_SECONDS)")
    assert stops(caplog) == [("WARNING", summary["stopped"])]


def test_a_request_claimed_just_as_the_budget_ran_out_is_released_unasked(world: World) -> None:
    world.register("r1")

    def claimed_late(rid: str) -> None:
        world.remaining_ms = 0

    world.store.before_claim = claimed_late
    summary = world.sweep()
    assert summary["claimed"] == 1 and summary["not_started"] == 1 and world.api.asked == []
    item = world.store.items["r1"]
    assert "lease_owner" not in item and "attempts" not in item and item["status"] == "PENDING"


@pytest.mark.parametrize(("status", "body"), [(401, '{"code": 430}'), (405, '{"code": 405}')])
def test_a_systemic_answer_is_logged_as_an_alarm(
    world: World, caplog: pytest.LogCaptureFixture, status: int, body: str
) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(status, body)]
    summary = world.sweep()
    code = body[9:12]
    assert summary["stopped"].startswith(f"systemic API failure {code}: ")
    assert stops(caplog) == [("ERROR", summary["stopped"])]


def test_an_unreadable_secret_is_logged_as_an_alarm(world: World, caplog: pytest.LogCaptureFixture) -> None:
    world.keys.broken = True
    world.register("r1")
    summary = world.sweep()
    assert summary["stopped"] == "API key unavailable: the secret is empty"
    assert summary["not_started"] == 1 and world.store.items["r1"].get("attempts") is None
    assert stops(caplog) == [("ERROR", summary["stopped"])]


def test_a_rejected_key_is_reported_as_498_with_the_reason(world: World) -> None:
    world.api.valid_keys = set()
    world.register("r1")
    summary = world.sweep()
    assert summary["stopped"] == "systemic API failure 498: HTTP 498, code 498: invalid or expired key"
    assert world.api.asked == [("r1", "key-1")]  # the re-read gave the same key: not asked with it again


class RotatingKeys(FakeKeys):
    """The secret changes under us twice (other containers rotated it): each read gives the next key."""

    def current(self) -> Credentials:
        key = self.values.pop(0) if len(self.values) > 1 else self.values[0]
        return Credentials(key, self.base_url)


def test_a_key_is_tried_at_most_twice_per_request(world: World) -> None:
    world.keys = RotatingKeys("k1", "k2", "k3")
    world.api.valid_keys = set()
    world.register("r1")
    summary = world.sweep()
    assert [key for _, key in world.api.asked] == ["k1", "k2"]
    assert summary["stopped"] == "systemic API failure 498: the re-read key was rejected too"


def test_a_lease_lost_mid_request_is_counted_and_the_new_owner_keeps_it(world: World) -> None:
    # (an answer that writes: "still processing" writes nothing after the claim, so it has no lease to lose)
    world.register("r1")
    world.api.answers["r1"] = [json_response(500, "{}")]

    def rival_takes_over(rid: str) -> None:
        world.store.items[rid]["lease_owner"] = "rival"

    world.api.before_query = rival_takes_over
    summary = world.sweep()
    assert summary["leases_lost"] == 1 and summary["errors"] == 0 and summary["transient_errors"] == 1
    item = world.store.items["r1"]
    assert item["lease_owner"] == "rival" and "transient_errors" not in item and "last_error" not in item


class FailingWrites(FakeStore):
    def reschedule(self, *args: Any) -> None:
        raise StoreError("updating r1 failed: ProvisionedThroughputExceededException")


def test_a_failing_write_stops_the_sweep_as_an_alarm(world: World, caplog: pytest.LogCaptureFixture) -> None:
    store = FailingWrites()
    store.items = world.store.items
    world.store = store
    world.register("r1", "r2")
    world.api.answers["r1"] = [json_response(500, "{}")]  # a transient error: its reschedule is refused
    summary = world.sweep(concurrency=1)
    assert summary["systemic"] == 1 and summary["claimed"] >= 1 and len(world.api.asked) == 1
    assert (
        summary["stopped"]
        == "the table could not be written: updating r1 failed: ProvisionedThroughputExceededException"
    )
    assert stops(caplog) == [("ERROR", summary["stopped"])]


def test_an_unexpected_error_keeps_the_lease_until_it_runs_out(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [RuntimeError("a bug"), UPDATED]
    first = world.sweep(owner="a")
    # counted like a transient error (issue 17: liveness), recorded for the operator, due at the claim's next check
    assert first["errors"] == 1 and world.store.items["r1"]["last_error"] == (
        "unexpected error from the status call (RuntimeError)"
    )
    assert world.sweep(owner="b")["due_seen"] == 0  # held until its next check, where the claim put it
    world.until_due("r1")
    assert world.sweep(owner="c")["completed"] == 1


def test_an_archive_failure_leaves_the_request_pending_and_it_is_copied_later(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"file": "/f.csv"}')]
    world.api.files["/f.csv"] = [FakeFile(b"data")]

    def archive_down(*args: Any) -> str:
        raise StoreError("archiving failed: SlowDown")

    real_put = world.archive.put
    world.archive.put = archive_down  # type: ignore[method-assign,assignment]
    summary = world.sweep()
    item = world.store.items["r1"]
    assert summary["archive_failures"] == 1 and summary["completed"] == 0 and world.notifier.published == []
    assert item["status"] == "PENDING" and "lease_owner" not in item and "SlowDown" in item["last_error"]
    world.archive.put = real_put  # type: ignore[method-assign]
    world.clock.advance(BASE.backoff_max_seconds + 1)
    assert world.sweep()["completed"] == 1 and world.archive.objects


def test_publishing_failures_of_the_first_outcomes_do_not_hold_back_the_rest(world: World) -> None:
    world.register("a", "b", "c", "d")
    for rid in "abcd":
        world.api.answers[rid] = [UPDATED]
    world.notifier.refuse_once = {"a"}

    class FirstWritesFail(FakeStore):
        def finish(self, outcome: Any, owner: str, expires_at: int) -> None:
            if outcome.request_id == "b":
                raise LeaseLost("b")
            if outcome.request_id == "c":
                raise StoreError("updating c failed: InternalServerError")
            super().finish(outcome, owner, expires_at)

    store = FirstWritesFail()
    store.items = world.store.items
    world.store = store
    summary = world.sweep(concurrency=1)
    assert summary["publish_failures"] == 1 and summary["leases_lost"] == 1 and summary["errors"] == 1
    assert summary["completed"] == 1 and world.status("d") == "COMPLETED"


def test_a_notifier_that_blows_up_loses_nothing(world: World) -> None:
    world.register("r1", "r2")
    for rid in ("r1", "r2"):
        world.api.answers[rid] = [UPDATED]

    def broken(outcomes: Any) -> set[str]:
        raise RuntimeError("botocore surprise")

    world.notifier.publish = broken  # type: ignore[method-assign]
    summary = world.sweep()
    assert summary["publish_failures"] == 2 and summary["completed"] == 0
    assert all(i["status"] == "PENDING" and "lease_owner" not in i for i in world.store.items.values())


def test_batches_never_exceed_ten(world: World) -> None:
    ids = [f"r{i:02d}" for i in range(21)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [UPDATED]
    world.sweep()
    assert sorted(world.notifier.batches, reverse=True) == [10, 10, 1]


def test_a_settling_item_is_published_again_without_asking(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    world.register("r1", age=30)
    world.api.answers["r1"] = [json_response(200, '{"code": 3005}')]
    world.notifier.fail_next = 1
    assert world.sweep()["publish_failures"] == 1
    assert world.status("r1") == "PENDING" and "settling" in world.store.items["r1"]
    world.until_due("r1")
    summary = world.sweep()
    assert summary["failed"] == 1 and summary["claimed"] == 1 and len(world.api.asked) == 1


def test_entries_the_notifier_refuses_stay_pending_and_are_published_later(world: World) -> None:
    # Given two finished requests, and SNS refusing r2's entry in the batch (the batch call itself succeeds)
    world.register("r1", "r2")
    for rid in ("r1", "r2"):
        world.api.answers[rid] = [json_response(200, '{"update-count": 5}')]
    world.notifier.refuse_once = {"r2"}
    # When a sweep runs, Then r1 is settled, r2 stays pending and unleased, not lost
    summary = world.sweep()
    assert summary["completed"] == 1 and summary["publish_failures"] == 1
    assert world.status("r1") == "COMPLETED" and world.status("r2") == "PENDING"
    assert "lease_owner" not in world.store.items["r2"] and [o.request_id for o in world.notifier.published] == ["r1"]
    # and the next sweep (once it is due again) publishes it and settles it, without asking the API again
    world.until_due("r2")
    world.sweep()
    assert world.status("r2") == "COMPLETED" and [o.update_count for o in world.published("r2")] == [5]
    assert [rid for rid, _ in world.api.asked].count("r2") == 1
