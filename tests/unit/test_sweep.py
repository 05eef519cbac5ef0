"""The sweep with in-memory fakes: what happens to each request for each kind of answer."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Any

import pytest

from profile_poller.core.ports import FileMissing, FilePermission, FileRefused, StoreError, TransportError
from profile_poller.core.schedule import check_at
from profile_poller.core.sweep import Sweep, SweepDeps
from profile_poller.entry.config import Settings
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeFile, FakeKeys, FakeNotifier, FakeStore, json_response

PENDING = json_response(200, '{"code": "1010", "description": "The request was not processed."}')
BASE = Settings(
    table_name="t",
    bucket_name="b",
    topic_arn="arn:topic",
    secret_id="s",
    concurrency=4,
    rate_limit_per_second=1000,
    archive_prefix="p",
)
ERRORS = b'Code, Description, Index\r\n3005, "Invalid Profile ID", 1\r\n7031, "say \\"hi\\"", 2\r\n'


@dataclass
class World:
    clock: FakeClock
    store: FakeStore
    api: FakeApi
    keys: FakeKeys
    archive: FakeArchive
    notifier: FakeNotifier
    settings: Settings = BASE
    remaining_ms: int = 600_000

    def sweep(self, owner: str = "owner-1", **overrides: Any) -> dict[str, Any]:
        settings = replace(self.settings, **overrides)
        deps = SweepDeps(
            self.store, self.api, self.keys, self.archive, self.notifier, self.clock, self.clock.sleep, random.Random(7)
        )
        return Sweep(settings, deps, owner, lambda: self.remaining_ms).run().as_dict()

    def register(self, *ids: str, age: int = 0, **extra: Any) -> None:
        for rid in ids:
            self.store.put_pending(rid, int(self.clock()) - age, **extra)

    def until_due(self, rid: str) -> None:
        """Move the clock to the first second at which the request is due again."""
        self.clock.advance(math.ceil(self.store.items[rid]["next_check_at"]) - self.clock())

    def status(self, rid: str) -> str:
        return str(self.store.items[rid]["status"])

    def published(self, rid: str) -> list[Any]:
        return [o for o in self.notifier.published if o.request_id == rid]


@pytest.fixture
def world() -> World:
    return World(FakeClock(), FakeStore(), FakeApi(), FakeKeys("key-1"), FakeArchive(), FakeNotifier())


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
    world.sweep()
    assert world.store.items["r1"]["transient_errors"] == 1
    world.until_due("r1")
    writes = world.store.writes
    world.sweep(owner="owner-2")
    assert world.store.items["r1"]["transient_errors"] == 0 and world.store.writes == writes + 2


def test_finished_update_archives_error_file_counts_codes_and_publishes_before_transition(world: World) -> None:
    world.register("r1", kind="update")
    world.api.answers["r1"] = [json_response(200, '{"error-file": "/files/e.csv", "update-count": "42"}')]
    world.api.files["/files/e.csv"] = [FakeFile(ERRORS)]
    summary = world.sweep()
    [outcome] = world.published("r1")
    assert summary["completed"] == 1 and summary["bytes_archived"] == len(ERRORS)
    assert outcome.update_count == 42 and outcome.error_count == 2
    assert outcome.errors_by_code == {"3005": 1, "7031": 1}
    assert outcome.first_errors[1].description == 'say "hi"'
    [stored] = outcome.files
    key = stored.s3_uri.removeprefix("s3://archive/")
    assert world.archive.objects[key] == ERRORS
    assert world.archive.metadata[key]["sha256"] == stored.sha256
    assert key.endswith("/r1/error-file.csv") and key.startswith("p/")
    item = world.store.items["r1"]
    assert item["status"] == "COMPLETED" and "due_shard" not in item
    assert item["outcome"]["error_count"] == 2
    assert item["expires_at"] == item["finished_at"] + BASE.retention_days * 86400


def test_finished_get_without_kind_is_inferred_and_has_no_error_count(world: World) -> None:
    world.register("g1")
    world.api.answers["g1"] = [json_response(200, '{"file": "https://tenant.example/out/profiles.json"}')]
    world.api.files["https://tenant.example/out/profiles.json"] = [FakeFile(b"[]")]
    world.sweep()
    [outcome] = world.published("g1")
    assert outcome.kind.value == "get" and outcome.error_count is None and not outcome.has_errors
    assert outcome.files[0].s3_uri.endswith("/g1/file.json")


@pytest.mark.parametrize("code", ["3005", 7031, "1001"])
def test_terminal_codes_fail_the_request_with_the_api_code(world: World, code: object) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, f'{{"code": {code!r}, "description": "nope"}}'.replace("'", '"'))]
    world.sweep()
    [outcome] = world.published("r1")
    assert world.status("r1") == "FAILED"
    assert outcome.api_code == str(code) and outcome.api_description == "nope"


def test_transient_errors_count_up_then_fail_after_the_limit(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [TransportError("ReadTimeout talking to tenant.example")]
    for sweep in range(3):
        world.sweep(max_transient_errors=3)
        world.clock.advance(10_000)
        if sweep < 2:
            assert world.status("r1") == "PENDING"
            assert world.store.items["r1"]["transient_errors"] == sweep + 1
    assert world.status("r1") == "FAILED"
    [outcome] = world.published("r1")
    assert "3 transient errors in a row" in (outcome.reason or "") and "ReadTimeout" in (outcome.reason or "")


def test_a_pending_answer_resets_the_transient_error_streak(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(500, "<html>oops</html>"), PENDING]
    world.sweep()
    assert world.store.items["r1"]["transient_errors"] == 1
    world.clock.advance(10_000)
    world.sweep()
    assert world.store.items["r1"]["transient_errors"] == 0


def test_request_older_than_max_age_expires_on_a_pending_answer(world: World) -> None:
    world.register("old", age=BASE.max_age_seconds + 1)
    world.register("young", age=10)
    summary = world.sweep()
    assert summary["expired"] == 1
    assert world.status("old") == "EXPIRED" and world.status("young") == "PENDING"
    assert world.published("old")[0].event_id == "old:EXPIRED"


def test_an_old_request_that_finished_is_completed_not_expired(world: World) -> None:
    world.register("old", age=BASE.max_age_seconds * 2)
    world.api.answers["old"] = [json_response(200, '{"update-count": 3}')]
    world.sweep()
    assert world.status("old") == "COMPLETED"


def test_a_long_retry_after_ends_the_sweep_without_sleeping_and_is_honoured(world: World) -> None:
    world.register(*[f"r{i}" for i in range(20)])
    world.api.answers["r0"] = [json_response(429, '{"code": 429}', {"Retry-After": "120"})]
    summary = world.sweep(concurrency=1)
    assert summary["throttled"] == 1 and "Retry-After" in str(summary["stopped"])
    assert int(world.store.items["r0"]["next_check_at"]) == int(world.clock()) + 120
    asked = {rid for rid, _ in world.api.asked}
    assert asked == {"r0"}  # nobody else was asked in this sweep
    untouched = [i for rid, i in world.store.items.items() if rid != "r0"]
    assert all(i["next_check_at"] == 0 and "lease_owner" not in i for i in untouched)  # still due, unleased
    assert world.clock.slept < 1.0  # the 120 s were not slept
    # and the next sweeps honour the pause the API asked for (kept on the asking lease): 60 s later one ends at
    # once, 110 s later one sleeps the last 10 s before asking
    world.clock.advance(60)
    assert "Retry-After" in str(world.sweep(owner="owner-2", concurrency=1)["stopped"]) and len(world.api.asked) == 1
    world.clock.advance(50)
    world.sweep(owner="owner-3", concurrency=1)
    assert world.clock() >= 1_800_000_120 and len(world.api.asked) > 1


def test_a_429_slows_the_sweep_down_instead_of_stopping_it(world: World) -> None:
    # Given 30 requests at 10 calls a second, and the API throttling the fifth call (no Retry-After)
    ids = [f"r{i:02d}" for i in range(30)]
    world.register(*ids)
    world.api.answers["r04"] = [json_response(429, '{"code": 429}')]
    started = world.clock()
    # When a sweep runs
    summary = world.sweep(concurrency=1, rate_limit_per_second=10)
    # Then every request was asked, the rate dropped (multiplicatively) and is recovering (additively)
    assert summary["throttled"] == 1 and summary["stopped"] is None and len(world.api.asked) == 30
    assert summary["still_pending"] == 29
    assert 3 <= summary["asking_rate_per_second"] < 10
    assert world.clock() - started > 29 / 10  # slower than the configured rate


def test_an_extra_sweep_ends_at_once_and_says_why(world: World) -> None:
    world.register("r1")
    world.store.take_asking("other-sweep", int(world.clock()), int(world.clock()) + 60)
    summary = world.sweep()
    assert summary["due_seen"] == 0 and world.api.asked == []
    assert "another sweep (other-sweep) holds the asking lease" in str(summary["stopped"])
    # and once that sweep's lease has run out (it died), the next sweep asks
    world.clock.advance(61)
    assert world.sweep()["still_pending"] == 1


@pytest.mark.parametrize(("status", "body"), [(401, '{"code": 430}'), (405, '{"code": 405}')])
def test_systemic_answers_stop_the_sweep_and_blame_no_request(world: World, status: int, body: str) -> None:
    world.register("a", "b", "c")
    for rid in "abc":
        world.api.answers[rid] = [json_response(status, body)]
    summary = world.sweep(concurrency=1)
    assert summary["systemic"] == 1 and "systemic" in summary["stopped"]
    assert all(i["status"] == "PENDING" and "lease_owner" not in i for i in world.store.items.values())
    assert all(i.get("transient_errors", 0) == 0 and i.get("attempts", 0) == 0 for i in world.store.items.values())
    assert world.notifier.published == []


def test_rotated_key_is_reread_once_and_the_request_retried(world: World) -> None:
    # Given the secret now holds key-2 while the cache still says key-1 (the API retired key-1)
    world.keys = FakeKeys("key-1", "key-2")
    world.api.valid_keys = {"key-2"}
    world.register("r1", "r2", "r3")
    for rid in ("r1", "r2", "r3"):
        world.api.answers[rid] = [json_response(200, '{"update-count": 1}')]
    summary = world.sweep(concurrency=1)
    assert summary["completed"] == 3 and summary["systemic"] == 0
    assert world.keys.refreshes == 1
    assert [k for _, k in world.api.asked] == ["key-1", "key-2", "key-2", "key-2"]


def test_a_key_still_rejected_after_the_reread_is_systemic(world: World) -> None:
    world.api.valid_keys = {"other"}
    world.register("r1", "r2")
    summary = world.sweep(concurrency=1)
    assert summary["systemic"] == 1 and world.keys.refreshes == 1
    assert all(i["status"] == "PENDING" and "lease_owner" not in i for i in world.store.items.values())


def test_unreadable_secret_stops_the_sweep_and_keeps_every_request(world: World) -> None:
    world.keys.broken = True
    world.register("r1")
    summary = world.sweep()
    assert summary["systemic"] == 1 and "API key unavailable" in summary["stopped"]
    assert world.store.items["r1"]["status"] == "PENDING" and "lease_owner" not in world.store.items["r1"]


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


def test_time_budget_stops_claiming(world: World) -> None:
    world.register("r1", "r2")
    world.remaining_ms = BASE.time_margin_seconds * 1000 - 1
    summary = world.sweep()
    assert summary["claimed"] == 0 and summary["stopped"].startswith("time budget")
    assert world.api.asked == []


def test_invalid_request_id_fails_without_any_api_call(world: World) -> None:
    world.register("../etc/passwd")
    summary = world.sweep()
    assert summary["failed"] == 1 and world.api.asked == []
    [outcome] = world.published("../etc/passwd")
    assert "invalid request-id" in (outcome.reason or "")


def test_truncated_download_leaves_no_object_and_is_retried(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"error-file": "/e.csv", "update-count": 1}')]
    world.api.files["/e.csv"] = [FakeFile(ERRORS, fail_after=20), FakeFile(ERRORS)]
    first = world.sweep()
    assert first["transient_errors"] == 1 and world.archive.objects == {}
    assert world.status("r1") == "PENDING" and "broke off" in world.store.items["r1"]["last_error"]
    world.clock.advance(10_000)
    world.sweep()
    assert world.status("r1") == "COMPLETED" and len(world.archive.objects) == 1


def test_short_body_against_content_length_is_a_truncation(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"file": "/f.csv"}')]
    world.api.files["/f.csv"] = [FakeFile(b"abc", content_length=10)]
    world.sweep()
    assert world.archive.objects == {}
    assert "truncated download" in world.store.items["r1"]["last_error"]


def test_a_refused_host_completes_the_request_with_the_file_not_archived(world: World) -> None:
    # Given a finished answer whose file points at the metadata address (the adapter refuses it, fetching nothing)
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"file": "http://169.254.169.254/latest", "update-count": 2}')]
    world.api.files["http://169.254.169.254/latest"] = [FileRefused("file host '169.254.169.254' is not allowed")]
    # When a sweep runs
    summary = world.sweep()
    # Then the Campaign request is reported as it is (COMPLETED, its count kept), the file entry says why it is
    # not in the archive, and the sweep counts it for the FilesNotArchived alarm
    [outcome] = world.published("r1")
    assert outcome.status.value == "COMPLETED" and outcome.update_count == 2
    [entry] = outcome.files
    assert not entry.archived and entry.source == "http://169.254.169.254/latest" and entry.s3_uri is None
    assert "169.254.169.254" in (entry.reason or "") and "169.254.169.254" in (outcome.reason or "")
    assert not outcome.archived and summary["files_not_archived"] == 1 and world.archive.objects == {}


def test_file_over_the_cap_is_not_archived_but_the_request_completes(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"file": "/big.csv"}')]
    world.api.files["/big.csv"] = [FakeFile(b"x" * 100)]
    world.sweep(max_file_bytes=50)
    assert world.archive.objects == {} and world.status("r1") == "COMPLETED"
    [entry] = world.published("r1")[0].files
    assert not entry.archived and "MAX_FILE_BYTES" in (entry.reason or "")


def test_an_unread_error_file_leaves_the_counts_unknown_and_the_other_file_is_archived(world: World) -> None:
    # Given an update whose error file is refused (no permission) while its result file is fine
    world.register("r1", kind="update")
    world.api.answers["r1"] = [json_response(200, '{"error-file": "/e.csv", "file": "/f.csv", "update-count": 3}')]
    world.api.files["/e.csv"] = [FilePermission("permission denied: HTTP 403 from files host x")]
    world.api.files["/f.csv"] = [FakeFile(b"data")]
    world.sweep()
    [outcome] = world.published("r1")
    # Then the error count is unknown (never zero), errors are still flagged, and the result file is archived
    assert outcome.status.value == "COMPLETED" and outcome.error_count is None and outcome.has_errors
    error_file, result = outcome.files
    assert error_file.role == "error-file" and not error_file.archived and "permission" in (error_file.reason or "")
    assert result.archived and world.archive.objects[result.s3_uri.removeprefix("s3://archive/")] == b"data"


def test_a_missing_file_is_retried_then_archived_when_it_appears(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"file": "/late.csv"}')]
    world.api.files["/late.csv"] = [FileMissing("file not found: HTTP 404 from tenant.example"), FakeFile(b"late")]
    world.sweep()
    assert world.status("r1") == "PENDING" and "not found" in world.store.items["r1"]["last_error"]
    world.clock.advance(10_000)
    world.sweep()
    [outcome] = world.published("r1")
    assert outcome.status.value == "COMPLETED" and outcome.archived


def test_a_file_still_missing_after_the_tries_is_not_archived_and_the_request_completes(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"file": "/never.csv", "update-count": 1}')]
    world.api.files["/never.csv"] = [FileMissing("file not found: HTTP 410 from tenant.example")]
    for _ in range(2):
        world.sweep(file_not_found_tries=3)
        world.clock.advance(10_000)
        assert world.status("r1") == "PENDING"
    world.sweep(file_not_found_tries=3)
    [outcome] = world.published("r1")
    assert outcome.status.value == "COMPLETED" and outcome.update_count == 1
    assert "not found after the bounded tries" in (outcome.files[0].reason or "")


def test_a_copy_failing_past_the_transient_limit_completes_with_the_file_not_archived(world: World) -> None:
    # Given a final answer whose file download keeps breaking off
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"file": "/f.csv", "update-count": 4}')]
    world.api.files["/f.csv"] = [FakeFile(b"abcdef", fail_after=2)]
    for _ in range(3):
        world.sweep(max_transient_errors=3)
        world.clock.advance(10_000)
    # Then the request is not reported FAILED (the Campaign job succeeded): COMPLETED, file not archived
    [outcome] = world.published("r1")
    assert outcome.status.value == "COMPLETED" and outcome.update_count == 4
    assert not outcome.archived and "copy kept failing" in (outcome.files[0].reason or "")


def test_publish_failure_keeps_the_request_pending_and_it_is_published_later(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"update-count": 5}')]
    world.notifier.fail_next = 1
    summary = world.sweep()
    assert summary["publish_failures"] == 1 and world.status("r1") == "PENDING"
    world.until_due("r1")
    world.sweep()
    assert world.status("r1") == "COMPLETED" and len(world.published("r1")) == 1


def test_outcomes_are_published_in_batches_of_ten(world: World) -> None:
    ids = [f"r{i:02d}" for i in range(23)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [json_response(200, '{"code": 3005}')]
    summary = world.sweep()
    assert summary["failed"] == 23 and world.notifier.calls == 3


def test_overlapping_sweeps_settle_each_request_once(world: World) -> None:
    ids = [f"r{i}" for i in range(30)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [json_response(200, '{"update-count": 1}')]
    world.sweep(owner="a")
    world.sweep(owner="b")
    assert sorted(o.request_id for o in world.notifier.published) == sorted(ids)


def test_the_rate_limit_spaces_calls_without_real_sleeping(world: World) -> None:
    world.register(*[f"r{i}" for i in range(11)])
    world.sweep(rate_limit_per_second=2, concurrency=1)
    assert len(world.api.asked) == 11
    assert world.clock.slept == pytest.approx(5.0, abs=0.01)  # 1 token at start, then 10 calls at 2/s


def test_a_sweep_that_died_after_publishing_is_finished_with_the_same_outcome(world: World) -> None:
    # Given a request whose outcome was decided and published by a sweep that died before the transition
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"code": 3005, "description": "Invalid Profile ID"}')]

    class DiesAtFinish(FakeStore):
        def finish(self, *args: Any) -> None:
            raise KeyboardInterrupt  # not an Exception: the process is gone

    store = world.store
    world.store = DiesAtFinish()
    world.store.items = store.items
    with pytest.raises(KeyboardInterrupt):
        world.sweep(owner="dies")
    first = world.published("r1")
    assert len(first) == 1 and world.status("r1") == "PENDING"
    # When the lease has run out, the API now answers differently, and another sweep claims it
    world.store = store
    world.clock.advance(BASE.lease_seconds + 1)
    world.api.answers["r1"] = [json_response(200, '{"update-count": 5}')]
    world.sweep(owner="next")
    # Then the same outcome is published again (same event_id) and the request ends as first decided
    again = world.published("r1")
    assert [o.event_id for o in again] == ["r1:FAILED", "r1:FAILED"] and again[0] == again[1]
    assert world.status("r1") == "FAILED" and len(world.api.asked) == 1


def test_a_failing_table_stops_the_sweep_as_systemic(world: World) -> None:
    world.register(*[f"r{i}" for i in range(5)])

    def table_down(rid: str) -> None:
        raise StoreError("claiming failed: ProvisionedThroughputExceededException")

    world.store.before_claim = table_down
    summary = world.sweep(concurrency=1)
    assert summary["systemic"] >= 1 and "table could not be written" in summary["stopped"]
    assert summary["claimed"] == 0 and world.api.asked == []


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


def test_a_slow_table_makes_the_sweep_keep_back_time_for_the_work_in_flight(world: World) -> None:
    # Given 70 s of Lambda time left: more than TIME_MARGIN_SECONDS (30 s) + one status call's bound (25 s)
    world.register("r1", "r2", "r3")
    world.remaining_ms = 70_000
    world.api.answers.update({rid: [PENDING] for rid in ("r1", "r2", "r3")})
    # When every claim takes 2 s: the item's remaining writes and a batch's terminal writes may take 12 x 2 s more
    world.store.before_claim = lambda _rid: world.clock.advance(2)
    summary = world.sweep(concurrency=1)
    # Then the sweep stops after the first claim instead of asking for all three
    assert summary["claimed"] == 1 and "work in flight" in summary["stopped"]


def test_a_fast_table_leaves_the_same_time_enough_for_everything(world: World) -> None:
    world.register("r1", "r2", "r3")
    world.remaining_ms = 70_000
    world.api.answers.update({rid: [PENDING] for rid in ("r1", "r2", "r3")})
    summary = world.sweep(concurrency=1)
    assert summary["claimed"] == 3 and summary["stopped"] is None
