"""Copies a finished request's files (`error-file`, `file`) into the archive. Ports only.

Each file streams from its source through a MeteredReader (SHA-256, size cap, truncation check, the
error-file parser) into the archive, which then stamps the checksum into the object's metadata. Each file
settles on its own: archived, not archived for good (FileRefused: the reason goes into the outcome), or
unsettled (a transient failure the sweep retries, or gives up on after its bounded tries).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .classify import Finished
from .copygate import CopyGate
from .items import PendingRequest
from .log import logger
from .model import ErrorSummary, Kind, StoredFile, archive_key
from .ports import (
    Archive,
    ArchiveFailed,
    Credentials,
    FileMissing,
    FileRefused,
    RemoteFile,
    SftpSource,
    StatusApi,
    StoreError,
    TransportError,
)
from .sources import FileSource, HttpsFile, choose_source
from .streams import MeteredReader

if TYPE_CHECKING:
    from .errorfile import ErrorFileParser

ROLES = ("error-file", "file")


@dataclass(frozen=True)
class Unsettled:
    """A file whose copy failed for a reason that may pass (a reset, a timeout, not there yet)."""

    role: str
    source: str
    error: TransportError

    @property
    def missing(self) -> bool:
        return isinstance(self.error, FileMissing)


@dataclass(frozen=True)
class Copied:
    files: tuple[StoredFile, ...]  # archived, or not archived for good
    errors: ErrorSummary | None  # None when no error file was read
    unsettled: tuple[Unsettled, ...] = ()

    def given_up(self) -> Copied:
        """The unsettled files become 'not archived' with their last failure as the reason."""
        gone = tuple(StoredFile.not_archived(u.role, u.source, _gave_up(u)) for u in self.unsettled)
        files = sorted(self.files + gone, key=lambda f: ROLES.index(f.role))
        return replace(self, files=tuple(files), unsettled=())

    @property
    def archive_failures(self) -> int:
        return sum(1 for u in self.unsettled if isinstance(u.error, ArchiveFailed))

    @property
    def error_file_read(self) -> bool:
        return any(f.role == "error-file" and f.archived for f in self.files)


def _gave_up(unsettled: Unsettled) -> str:
    if unsettled.missing:
        return f"not found after the bounded tries: {unsettled.error}"
    return f"copy kept failing: {unsettled.error}"


def infer_kind(kind: Kind, answer: Finished) -> Kind:
    """A producer may leave `kind` out: a lone `file` is a get, anything with errors or a count an update."""
    if kind is not Kind.UNKNOWN:
        return kind
    return Kind.GET if answer.file and not answer.error_file else Kind.UPDATE


class FileCopier:
    def __init__(
        self,
        api: StatusApi,
        archive: Archive,
        prefix: str,
        max_bytes: int,
        *,
        sftp: SftpSource | None = None,
        mode: FileSource = FileSource.AUTO,
        file_hosts: frozenset[str] = frozenset(),
        gate: CopyGate | None = None,
    ) -> None:
        self._api = api
        self._archive = archive
        self._prefix = prefix
        self._max_bytes = max_bytes
        self._sftp = sftp
        self._mode = mode
        self._file_hosts = file_hosts
        self._gate = gate  # the copy slots and deadline (core/copygate.py); None: unbounded (tests)

    def _open(self, path: str, credentials: Credentials) -> AbstractContextManager[RemoteFile]:
        route = choose_source(path, self._mode, credentials.sftp, self._file_hosts, credentials.sftp_refused)
        if isinstance(route, HttpsFile):
            return self._api.open_file(route.value, credentials)
        if self._sftp is None or credentials.sftp is None:
            raise FileRefused("SFTP files are not enabled in this runtime")
        return self._sftp.open_file(route.host, route.port, route.path, credentials.sftp)

    def copy(
        self,
        request: PendingRequest,
        answer: Finished,
        credentials: Credentials,
        before_copy: Callable[[int | None], None] | None = None,
    ) -> Copied:
        """Settles each file; SourceLoginRefused (systemic) propagates. An archive failure (StoreError from the
        archive) leaves the file unsettled as ArchiveFailed, retried like any transient failure. Whatever
        `before_copy(content_length)` raises propagates (called once a file is open, before its bytes stream)."""
        files: list[StoredFile] = []
        unsettled: list[Unsettled] = []
        errors: ErrorSummary | None = None
        for role, path in zip(ROLES, (answer.error_file, answer.file), strict=True):
            if path is None:
                continue
            parser = _error_file_parser() if role == "error-file" else None
            try:
                files.append(self._copy_one(request, role, path, parser, credentials, before_copy=before_copy))
            except TransportError as exc:
                unsettled.append(Unsettled(role, path, exc))
                continue
            except StoreError as exc:  # S3 refused the upload or the stamp: this file's problem, retried
                unsettled.append(Unsettled(role, path, ArchiveFailed(f"archiving failed: {exc}")))
                continue
            except FileRefused as exc:
                _log_refusal(request.request_id, role, exc)
                files.append(StoredFile.not_archived(role, path, str(exc)))
                continue
            if parser is not None:
                errors = parser.finish()
        return Copied(tuple(files), errors, tuple(unsettled))

    def _copy_one(
        self,
        request: PendingRequest,
        role: str,
        path: str,
        parser: ErrorFileParser | None,
        credentials: Credentials,
        *,
        before_copy: Callable[[int | None], None] | None,
    ) -> StoredFile:
        key = archive_key(self._prefix, request.request_id, request.submitted_at, role, path)
        from .message import public_source  # noqa: PLC0415 - lazy: the cold import leaves the message module out

        # a signed URL's query is a credential: the archive's readers see the value as the message shows it
        metadata = {"request-id": request.request_id, "role": role, "source": public_source(path)}
        opened = (
            self._open(path, credentials)
            if self._gate is None
            else self._gate.open(lambda: self._open(path, credentials))
        )
        with opened as remote:
            if before_copy is not None:
                before_copy(remote.content_length)
            reader = MeteredReader(remote, self._max_bytes, parser.feed if parser else None)
            uri = self._archive.put(key, reader, metadata)
        self._archive.stamp(key, {**metadata, "sha256": reader.sha256, "bytes": str(reader.bytes_read)})
        return StoredFile(role, path, uri, reader.bytes_read, reader.sha256)

    def discard_unarchived(self, request: PendingRequest, files: tuple[StoredFile, ...]) -> int:
        """Remove any object an earlier, interrupted copy left at the key of a file that ends not archived, so the
        archive agrees with the outcome. Returns how many removals the archive refused (logged; the outcome stands)."""
        refused = 0
        for f in files:
            if f.archived:
                continue
            key = archive_key(self._prefix, request.request_id, request.submitted_at, f.role, f.source)
            try:
                self._archive.discard(key)
            except StoreError as exc:
                refused += 1
                logger.error(
                    "a leftover copy of a file not archived could not be removed",
                    extra={"request_id": request.request_id, "role": f.role, "reason": str(exc)},
                )
        return refused


def _log_refusal(request_id: str, role: str, exc: FileRefused) -> None:
    """A refusal fetched nothing; the host is logged so an operator can add it to FILE_HOSTS if it is theirs."""
    logger.warning(
        "file not archived",
        extra={"request_id": request_id, "role": role, "host": exc.host, "reason": str(exc)},
    )


def _error_file_parser() -> ErrorFileParser:
    """The error-file parser (and csv) are imported at the first error file, not at the handler's cold import."""
    from .errorfile import ErrorFileParser  # noqa: PLC0415 - lazy: a sweep of pending checks never parses one

    return ErrorFileParser()
