"""Domain types shared by the sweep, the adapters and the producer helper. No I/O here."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any
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


def _number(value: object, default: int) -> int:
    """Read a DynamoDB number leniently: hand-written items may carry strings or nothing."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return default
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() else default
    return default


def outcome_map(outcome: Outcome) -> dict[str, Any]:
    """The `outcome` attribute of a finished item (and `settling` while it is being published)."""
    return {
        "status": outcome.status.value,
        "kind": outcome.kind.value,
        "submitted_at": outcome.submitted_at,
        "finished_at": outcome.finished_at,
        "attempts": outcome.attempts,
        "update_count": outcome.update_count,
        "error_count": outcome.error_count,
        "errors_by_code": dict(outcome.errors_by_code),
        "first_errors": [
            {"code": r.code, "description": r.description, "index": r.index} for r in outcome.first_errors
        ],
        "files": {
            f.role: {
                "s3_uri": f.s3_uri,
                "bytes": f.bytes,
                "sha256": f.sha256,
                "source": f.source,
                "archived": f.archived,
                "reason": f.reason,
            }
            for f in outcome.files
        },
        "s3_uris": [f.s3_uri for f in outcome.files if f.s3_uri is not None],
        "api_code": outcome.api_code,
        "api_description": outcome.api_description,
        "reason": outcome.reason,
        "correlation": dict(outcome.correlation),
        "retry": outcome.retry,
    }


def outcome_from_map(request_id: str, data: Mapping[str, Any]) -> Outcome:
    """Rebuild a decided outcome so a later sweep publishes exactly the same message again."""
    files = data.get("files") or {}
    return Outcome(
        request_id=request_id,
        status=Status(data["status"]),
        kind=Kind.parse(data.get("kind")),
        submitted_at=_number(data.get("submitted_at"), 0),
        finished_at=_number(data.get("finished_at"), 0),
        attempts=max(1, _number(data.get("attempts"), 1)),
        update_count=data.get("update_count"),
        error_count=data.get("error_count"),
        errors_by_code={str(k): _number(v, 0) for k, v in (data.get("errors_by_code") or {}).items()},
        first_errors=tuple(
            ErrorRow(str(r.get("code", "")), str(r.get("description", "")), str(r.get("index", "")))
            for r in data.get("first_errors") or []
        ),
        files=tuple(_stored_file(role, f) for role, f in sorted(files.items())),
        api_code=data.get("api_code"),
        api_description=data.get("api_description"),
        reason=data.get("reason"),
        correlation=correlation_of(data),
        retry=max(0, _number(data.get("retry"), 0)),
    )


def _stored_file(role: str, data: Mapping[str, Any]) -> StoredFile:
    source = str(data.get("source", ""))
    if data.get("archived", True) is False or data.get("s3_uri") is None:
        return StoredFile.not_archived(role, source, str(data.get("reason") or "not archived"))
    return StoredFile(role, source, str(data["s3_uri"]), _number(data.get("bytes"), 0), str(data.get("sha256", "")))


def correlation_of(data: Mapping[str, Any]) -> dict[str, str]:
    """The `correlation` map of an item or outcome, read leniently (only string keys and values are kept)."""
    value = data.get("correlation")
    if not isinstance(value, Mapping):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


@dataclass(frozen=True)
class PendingRequest:
    """A claimed item, read leniently: a hand-written item with odd attributes still gets an answer."""

    request_id: str
    kind: Kind
    submitted_at: int
    attempts: int
    transient_errors: int
    lease_owner: str
    settling: Outcome | None = None  # decided and maybe published by a sweep that died before the transition
    correlation: Mapping[str, str] = field(default_factory=dict)  # from the registration, echoed in the outcome
    retries: int = 0  # operator retries so far (`profile-poller retry`): part of the next outcome's event_id
    retried_at: int | None = None  # MAX_AGE_SECONDS counts from here after a retry

    @classmethod
    def from_item(cls, item: Mapping[str, Any], now: int) -> PendingRequest:
        settling = item.get("settling")
        return cls(
            settling=outcome_from_map(str(item["request_id"]), settling) if isinstance(settling, Mapping) else None,
            request_id=str(item["request_id"]),
            kind=Kind.parse(item.get("kind")),
            submitted_at=epoch_seconds(_number(item.get("submitted_at"), now)),  # milliseconds tolerated
            attempts=max(0, _number(item.get("attempts"), 0)),
            transient_errors=max(0, _number(item.get("transient_errors"), 0)),
            lease_owner=str(item.get("lease_owner", "")),
            correlation=correlation_of(item),
            retries=max(0, _number(item.get("retries"), 0)),
            retried_at=_number(item.get("retried_at"), 0) or None,
        )

    @property
    def age_from(self) -> int:
        """Where MAX_AGE_SECONDS and the pending age count from: the submission, or the last operator retry."""
        return max(self.submitted_at, self.retried_at or 0)


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
    name = urlsplit(source).path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot > 0 and _EXTENSION.fullmatch(name[dot:]) else ""
    return f"{folder}/file{ext}"
