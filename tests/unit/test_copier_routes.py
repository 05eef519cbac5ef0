"""The file copier on its own, with fakes: where each file is fetched from (HTTPS or SFTP, through the copy
gate), how each file settles whatever happened to the other, and how leftovers are removed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

import pytest

from profile_poller.core.classify import Finished
from profile_poller.core.copier import Copied, FileCopier, Unsettled
from profile_poller.core.copygate import CopyClock, CopyGate
from profile_poller.core.items import PendingRequest
from profile_poller.core.model import Kind, StoredFile, archive_key
from profile_poller.core.ports import (
    ArchiveFailed,
    Credentials,
    FileMissing,
    Readable,
    RemoteFile,
    SftpSettings,
    StoreError,
    TransportError,
)
from profile_poller.core.sources import FileSource
from tests.fakes import FakeApi, FakeArchive, FakeFile

SFTP = SftpSettings(host="sftp.example", username="u", host_keys=("k",), port=2222, base_dir="/exports")
HTTPS_ONLY = Credentials("k", "https://tenant.example")
WITH_SFTP = Credentials("k", "https://tenant.example", sftp=SFTP)
REQUEST = PendingRequest("r1", Kind.UPDATE, 1_800_000_000, 1, 0)
PREFIX = "p"


class FakeSftp:
    def __init__(self, data: bytes = b"a,b\r\n") -> None:
        self.opened: list[tuple[str, int, str, SftpSettings]] = []
        self.data = data

    @contextmanager
    def open_file(self, host: str, port: int, path: str, settings: SftpSettings) -> Iterator[RemoteFile]:
        self.opened.append((host, port, path, settings))
        yield FakeFile(self.data, url=f"sftp://{host}{path}")

    def end_sweep(self) -> None:
        pass


class CountingGate(CopyGate):
    def __init__(self) -> None:
        super().__init__(2, CopyClock(lambda: 600.0, 600.0, 1.0), lambda: None)
        self.opens = 0

    @contextmanager
    def open(self, opener: Callable[[], AbstractContextManager[RemoteFile]]) -> Iterator[RemoteFile]:
        self.opens += 1
        with super().open(opener) as remote:
            yield remote


def key(role: str, source: str) -> str:
    return archive_key(PREFIX, "r1", REQUEST.submitted_at, role, source)


@pytest.mark.parametrize(
    ("value", "opened"),
    [
        ("sftp://files.example/exports/a.csv", ("files.example", 22, "/exports/a.csv")),  # a FILE_HOSTS host: port 22
        ("out/a.csv", ("sftp.example", 2222, "/exports/out/a.csv")),  # a bare path: the secret's host and base_dir
    ],
    ids=["sftp-url-on-a-file-host", "bare-path"],
)
def test_an_sftp_file_is_fetched_from_the_host_port_and_path_it_names_with_the_secret(
    value: str, opened: tuple[str, int, str]
) -> None:
    # Given a runtime with SFTP and a secret with an `sftp` section
    sftp, archive = FakeSftp(), FakeArchive()
    copier = FileCopier(FakeApi(), archive, PREFIX, 1000, sftp=sftp, file_hosts=frozenset({"files.example"}))
    # When a finished request's file is copied
    copied = copier.copy(REQUEST, Finished(file=value, error_file=None, update_count=1), WITH_SFTP)
    # Then it came over SFTP from where the value points, with the secret's settings, and is archived
    assert sftp.opened == [(*opened, SFTP)]
    assert [f.archived for f in copied.files] == [True] and archive.objects == {key("file", value): b"a,b\r\n"}


def test_an_sftp_file_in_a_runtime_without_sftp_is_not_archived_with_the_reason() -> None:
    copier = FileCopier(FakeApi(), FakeArchive(), PREFIX, 1000, sftp=None, mode=FileSource.SFTP)
    copied = copier.copy(REQUEST, Finished(file="out/a.csv", error_file=None, update_count=1), WITH_SFTP)
    assert copied.files == (StoredFile.not_archived("file", "out/a.csv", "SFTP files are not enabled in this runtime"),)


@pytest.mark.parametrize("gated", [False, True])
def test_an_https_file_is_opened_once_through_the_gate_when_there_is_one(gated: bool) -> None:
    api, gate = FakeApi(), CountingGate()
    api.files["/f.csv"] = [FakeFile(b"xyz")]
    copier = FileCopier(api, FakeArchive(), PREFIX, 1000, gate=gate if gated else None)
    copied = copier.copy(REQUEST, Finished(file="/f.csv", error_file=None, update_count=1), HTTPS_ONLY)
    assert api.downloads == [("/f.csv", "k")] and gate.opens == (1 if gated else 0)
    assert copied.files[0].bytes == 3


def test_a_file_that_fails_transiently_does_not_keep_the_next_one_from_being_copied() -> None:
    api = FakeApi()
    api.files = {"/e.csv": [TransportError("reset")], "/f.csv": [FakeFile(b"xyz")]}
    copier = FileCopier(api, FakeArchive(), PREFIX, 1000)
    copied = copier.copy(REQUEST, Finished(file="/f.csv", error_file="/e.csv", update_count=1), HTTPS_ONLY)
    assert [(f.role, f.archived) for f in copied.files] == [("file", True)]
    assert [(u.role, u.source, str(u.error)) for u in copied.unsettled] == [("error-file", "/e.csv", "reset")]


def test_a_file_refused_for_good_does_not_keep_the_next_one_from_being_copied(caplog: pytest.LogCaptureFixture) -> None:
    # Given an error file on a host that is not on any list, and a file that is fine
    api = FakeApi()
    api.files = {"https://tenant.example/f.csv": [FakeFile(b"xyz")]}
    copier = FileCopier(api, FakeArchive(), PREFIX, 1000, sftp=FakeSftp())
    answer = Finished(file="https://tenant.example/f.csv", error_file="sftp://stranger.example/e.csv", update_count=1)
    # When both are copied
    with caplog.at_level(logging.WARNING):
        copied = copier.copy(REQUEST, answer, WITH_SFTP)
    # Then the error file is not archived with the reason, the file is archived
    assert [(f.role, f.archived) for f in copied.files] == [("error-file", False), ("file", True)]
    assert copied.files[0].reason == "file host 'stranger.example' is not the SFTP host nor in FILE_HOSTS"
    # and the warning names the request, the role and the host, for an operator to add to FILE_HOSTS
    [warning] = [r for r in caplog.records if r.getMessage() == "file not archived"]
    named = tuple(getattr(warning, name) for name in ("request_id", "role", "host"))
    assert named == ("r1", "error-file", "stranger.example")


class RefusingUploads(FakeArchive):
    def put(self, key: str, body: Readable, metadata: Mapping[str, str]) -> str:
        if key.endswith("/error-file.csv"):
            raise StoreError("S3 said AccessDenied")
        return super().put(key, body, metadata)

    def discard(self, key: str) -> None:
        raise StoreError("S3 said AccessDenied")


def test_an_upload_the_archive_refuses_leaves_that_file_unsettled_and_the_next_one_is_copied() -> None:
    api = FakeApi()
    api.files = {"/e.csv": [FakeFile(b"Code,Description,Index\r\n")], "/f.csv": [FakeFile(b"xyz")]}
    copier = FileCopier(api, RefusingUploads(), PREFIX, 1000)
    copied = copier.copy(REQUEST, Finished(file="/f.csv", error_file="/e.csv", update_count=1), HTTPS_ONLY)
    [unsettled] = copied.unsettled
    assert (unsettled.role, unsettled.source) == ("error-file", "/e.csv")
    assert (
        isinstance(unsettled.error, ArchiveFailed) and str(unsettled.error) == "archiving failed: S3 said AccessDenied"
    )
    # and the file after it is still copied
    assert copied.archive_failures == 1 and [(f.role, f.archived) for f in copied.files] == [("file", True)]


def test_files_given_up_become_not_archived_in_role_order_and_nothing_stays_unsettled() -> None:
    # Given a file archived and an error file that kept going missing
    archived = StoredFile("file", "/f.csv", "s3://archive/f", 3, "ab" * 32)
    copied = Copied((archived,), None, (Unsettled("error-file", "/e.csv", FileMissing("404 on /e.csv")),))
    # When the sweep gives up on it
    given_up = copied.given_up()
    # Then the error file is listed first, not archived, with the last failure; nothing is left unsettled
    assert given_up.files == (
        StoredFile.not_archived("error-file", "/e.csv", "not found after the bounded tries: 404 on /e.csv"),
        archived,
    )
    assert given_up.unsettled == () and given_up.archive_failures == 0


def test_leftovers_of_every_file_not_archived_are_removed_even_after_an_archived_one() -> None:
    # Given leftover objects at the keys of two files, the first of the listed files archived this time
    archive = FakeArchive()
    archive.objects = {key("file", "/f.csv"): b"old", key("error-file", "/e.csv"): b"new"}
    files = (
        StoredFile("error-file", "/e.csv", "s3://archive/e", 3, "ab" * 32),
        StoredFile.not_archived("file", "/f.csv", "over MAX_FILE_BYTES"),
    )
    # When the copier discards what is not archived
    refused = FileCopier(FakeApi(), archive, PREFIX, 1000).discard_unarchived(REQUEST, files)
    # Then only the archived file's object is left
    assert refused == 0 and archive.objects == {key("error-file", "/e.csv"): b"new"}


def test_every_removal_the_archive_refuses_is_counted() -> None:
    files = (
        StoredFile.not_archived("error-file", "/e.csv", "gone"),
        StoredFile.not_archived("file", "/f.csv", "gone"),
    )
    assert FileCopier(FakeApi(), RefusingUploads(), PREFIX, 1000).discard_unarchived(REQUEST, files) == 2
