"""Domain types shared by the sweep, the adapters and the producer helper: status, kind, the request-id rule,
the outcome and its files, the archive key. No I/O here. How an item maps to and from them is core/items.py."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from urllib.parse import urlsplit

from .bounds import (
    CODE_CHARS,
    DESCRIPTION_CHARS,
    FIRST_ROWS,
    INDEX_CHARS,
    REASON_CHARS,
    SOURCE_CHARS,
    clip,
    code_key,
    epoch_seconds,
    fold_codes,
)

REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class Status(StrEnum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"


class Kind(StrEnum):
    GET = "get"
    UPDATE = "update"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, value: object) -> Kind:
        if isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        return cls.UNKNOWN


class InvalidRequestId(ValueError):
    pass


def validate_request_id(request_id: object) -> str:
    """Return the id if it is safe in a URL path segment and an S3 key; raise InvalidRequestId otherwise.

    Allowed: 1-128 letters, digits, '-', '_' and '.', starting with a letter or digit (so never '.' or '..').
    """
    if not isinstance(request_id, str):
        raise InvalidRequestId(f"request-id must be a string, got {type(request_id).__name__}")
    if not REQUEST_ID_PATTERN.fullmatch(request_id):
        shown = request_id[:40] + ("..." if len(request_id) > 40 else "")
        raise InvalidRequestId(
            f"invalid request-id {shown!r}: use 1-128 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    return request_id


@dataclass(frozen=True)
class StoredFile:
    """A file listed by the API: copied into the archive, or not archived (s3_uri None) with the reason why."""

    role: str  # "error-file" or "file"
    source: str
    s3_uri: str | None
    bytes: int | None
    sha256: str | None
    reason: str | None = None  # why the file is not in the archive

    @classmethod
    def not_archived(cls, role: str, source: str, reason: str) -> StoredFile:
        return cls(role, source, None, None, None, reason)

    @property
    def archived(self) -> bool:
        return self.s3_uri is not None


@dataclass(frozen=True)
class ErrorRow:
    code: str
    description: str
    index: str


@dataclass
class ErrorSummary:
    """What the error-file parser saw. error_count is None when the file could not be parsed."""

    error_count: int | None = 0
    errors_by_code: dict[str, int] = field(default_factory=dict)
    first_rows: list[ErrorRow] = field(default_factory=list)
    problem: str | None = None


@dataclass(frozen=True)
class Outcome:
    """The terminal result of one request, as stored on the item and published."""

    request_id: str
    status: Status
    kind: Kind
    submitted_at: int
    finished_at: int
    attempts: int
    update_count: int | None = None
    error_count: int | None = None
    errors_by_code: Mapping[str, int] = field(default_factory=dict)
    first_errors: tuple[ErrorRow, ...] = ()
    files: tuple[StoredFile, ...] = ()
    api_code: str | None = None
    api_description: str | None = None
    reason: str | None = None
    correlation: Mapping[str, str] = field(default_factory=dict)
    retry: int = 0  # the operator retry this outcome follows (0: the first run)
    # while it is being announced (the item's `settling`, core/outcomes.py): the doors that already took it;
    # never in a message, dropped when the request finishes
    doors_taken: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Bounded whatever the source (a parsed file, a stored map): see core/bounds.py."""
        bound = object.__setattr__  # frozen: normalised once, at construction
        bound(self, "submitted_at", epoch_seconds(self.submitted_at))
        bound(self, "finished_at", epoch_seconds(self.finished_at))
        bound(self, "errors_by_code", fold_codes(self.errors_by_code))
        rows = self.first_errors[:FIRST_ROWS]
        bound(
            self,
            "first_errors",
            tuple(
                ErrorRow(
                    code_key(r.code), clip(r.description, DESCRIPTION_CHARS) or "", clip(r.index, INDEX_CHARS) or ""
                )
                for r in rows
            ),
        )
        bound(self, "api_code", clip(self.api_code, CODE_CHARS))
        bound(self, "api_description", clip(self.api_description, DESCRIPTION_CHARS))
        bound(self, "reason", clip(self.reason, REASON_CHARS))
        bound(
            self,
            "files",
            tuple(
                replace(f, source=clip(f.source, SOURCE_CHARS) or "", reason=clip(f.reason, REASON_CHARS))
                for f in self.files
            ),
        )

    @property
    def event_id(self) -> str:
        """`{request_id}:{status}`, after the n-th operator retry `{request_id}:{status}:retry-{n}` (subscribers.md)."""
        base = f"{self.request_id}:{self.status.value}"
        return f"{base}:retry-{self.retry}" if self.retry else base

    @property
    def archived(self) -> bool:
        """Every file the API listed is in the archive (true when it listed none)."""
        return all(f.archived for f in self.files)

    @property
    def has_errors(self) -> bool:
        if self.status is not Status.COMPLETED:
            return True
        if self.error_count is None:  # an error file we could not count still means errors
            return any(f.role == "error-file" for f in self.files)
        return self.error_count > 0


_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,8}")


def archive_key(prefix: str, request_id: str, submitted_at: int, role: str, source: str) -> str:
    """Deterministic S3 key: the same request always lands on the same key, whatever the retry.

    `{prefix}/{yyyy}/{mm}/{dd}/{request_id}/error-file.csv` or `.../file{ext}` (ext from the source path).
    """
    day = time.gmtime(submitted_at)
    folder = f"{prefix}/{day.tm_year:04d}/{day.tm_mon:02d}/{day.tm_mday:02d}/{request_id}"
    if role == "error-file":
        return f"{folder}/error-file.csv"
    try:
        name = urlsplit(source).path.rpartition("/")[2]
    except ValueError:  # not a URL (an unclosed IPv6 bracket): the key needs only a name
        name = source.partition("?")[0].rpartition("/")[2]
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot > 0 and _EXTENSION.fullmatch(name[dot:]) else ""
    return f"{folder}/file{ext}"
