"""What each kind of API answer does to the request: finished (update, get), terminal codes, transient errors
up to the limit, max age, and an invalid request-id that is never asked about."""

from __future__ import annotations

import pytest

from profile_poller.core.ports import TransportError
from tests.fakes import FakeFile, json_response
from tests.unit.sweep_world import BASE, ERRORS, PENDING, World, world

__all__ = ["world"]


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
        world.others_answer(f"a{sweep}")  # others get answers: the failures are this request's own
        world.sweep(max_transient_errors=3, concurrency=1)
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
    world.others_answer()  # others get answers: the failure is charged
    world.sweep(concurrency=1)
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


def test_invalid_request_id_fails_without_any_api_call(world: World) -> None:
    world.register("../etc/passwd")
    summary = world.sweep()
    assert summary["failed"] == 1 and world.api.asked == []
    [outcome] = world.published("../etc/passwd")
    assert "invalid request-id" in (outcome.reason or "")
