"""Copying the files a finished answer lists: broken-off and short downloads are retried, refused hosts,
oversized, unreadable and still-missing files complete the request with the file not archived and say why."""

from __future__ import annotations

from profile_poller.core.ports import FileMissing, FilePermission, FileRefused
from tests.fakes import FakeFile, json_response
from tests.unit.sweep_world import ERRORS, World, world

__all__ = ["world"]


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
