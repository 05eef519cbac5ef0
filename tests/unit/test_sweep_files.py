"""Copying the files a finished answer lists: broken-off and short downloads are retried, refused hosts,
oversized, unreadable and still-missing files complete the request with the file not archived and say why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from profile_poller.core.ports import Credentials, FileMissing, FilePermission, FileRefused, SftpSettings
from profile_poller.core.sources import FileSource
from tests.fakes import FakeFile, FakeKeys, json_response
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


def test_a_copy_that_cannot_end_before_the_copy_deadline_is_cut_counted_and_retried(world: World) -> None:
    # Given a finished answer listing a file of 400 MiB: 100 s at the assumed minimum of 4 MiB/s
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"file": "/f.csv", "update-count": 1}')]
    world.api.files["/f.csv"] = [FakeFile(b"abc", content_length=400 * 1024**2)]

    def time_runs_short(_: str) -> None:  # 600 s left when the sweep started, 100 s (70 s to the deadline) now
        world.remaining_ms = 100_000

    world.api.before_query = time_runs_short
    # When a sweep copies it
    summary = world.sweep()
    # Then the copy is cut before a byte is read, counted, and the request is checked again by a later sweep
    assert summary["copies_out_of_time"] == 1 and world.archive.objects == {}
    assert world.status("r1") == "PENDING" and "copy deadline" in world.store.items["r1"]["last_error"]


SFTP = SftpSettings(host="files.example", username="u", host_keys=("files.example ssh-ed25519 AAAA",), password="pw")


class SftpKeys(FakeKeys):
    def current(self) -> Credentials:
        return Credentials("key-1", self.base_url, sftp=SFTP)


class FakeSftpSource:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.opened: list[tuple[str, int, str]] = []

    @contextmanager
    def open_file(self, host: str, port: int, path: str, settings: SftpSettings) -> Iterator[FakeFile]:
        self.opened.append((host, port, path))
        yield FakeFile(self.files[path], url=f"sftp://{host}{path}")

    def end_sweep(self) -> None:
        pass


def test_file_source_and_file_hosts_route_the_copies_of_a_sweep(world: World) -> None:
    # Given a secret with an sftp section, FILE_SOURCE=https and FILE_HOSTS naming a second SFTP host, and an
    # answer whose error file is on that host and whose file is a bare path
    world.keys = SftpKeys("key-1")
    world.sftp = source = FakeSftpSource({"/out/e.csv": ERRORS})
    world.register("r1")
    body = '{"error-file": "sftp://mirror.example/out/e.csv", "file": "/out/f.csv", "update-count": 1}'
    world.api.answers["r1"] = [json_response(200, body)]
    world.api.files["/out/f.csv"] = [FakeFile(b"id\n1\n")]
    # When a sweep copies them
    world.sweep(file_source=FileSource.HTTPS, file_hosts=frozenset({"mirror.example"}))
    # Then the error file came over SFTP from that host and the bare path over HTTPS, both archived
    assert source.opened == [("mirror.example", 22, "/out/e.csv")]
    assert [path for path, _ in world.api.downloads] == ["/out/f.csv"]
    assert world.status("r1") == "COMPLETED" and sorted(world.archive.objects.values()) == sorted([ERRORS, b"id\n1\n"])
