"""The requests table's item as the core reads and writes it: a claimed item read leniently (PendingRequest),
and the stored `outcome` map written on the terminal transition and read back to republish. No I/O here; the
DynamoDB encoding of these plain values is adapters/dynamo_items.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .bounds import FUTURE_SLACK_SECONDS, epoch_seconds
from .callbacks import valid_token
from .model import ErrorRow, Kind, Outcome, Status, StoredFile


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
    } | _delivery(outcome)


def _delivery(outcome: Outcome) -> dict[str, Any]:
    """What a settling item keeps about the doors that took its outcome (absent when none did). The callback is
    made only once every door took it, and finishes the request, so there is nothing to keep about it here."""
    extra: dict[str, Any] = {}
    if outcome.doors_taken:
        extra["doors_taken"] = sorted(outcome.doors_taken)
    return extra


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
        doors_taken=frozenset(str(d) for d in data.get("doors_taken") or () if isinstance(d, str)),
    )


def _stored_file(role: str, data: Mapping[str, Any]) -> StoredFile:
    source = str(data.get("source", ""))
    if data.get("archived") is False or data.get("s3_uri") is None:
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
    settling: Outcome | None = None  # decided and maybe published by a sweep that died before the transition
    correlation: Mapping[str, str] = field(default_factory=dict)  # from the registration, echoed in the outcome
    retries: int = 0  # operator retries so far (`profile-poller retry`): part of the next outcome's event_id
    retried_at: int | None = None  # MAX_AGE_SECONDS counts from here after a retry
    first_claimed_at: int | None = None  # the first claim: where a hand-written future submitted_at ages from
    task_token: str | None = field(default=None, repr=False)  # issue 19: a credential, never shown
    last_error: str | None = None  # why the last check rescheduled it (a file copy retried: the API answered final)

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
            correlation=correlation_of(item),
            retries=max(0, _number(item.get("retries"), 0)),
            retried_at=_number(item.get("retried_at"), 0) or None,
            first_claimed_at=_number(item.get("first_claimed_at"), 0) or None,
            task_token=valid_token(item.get("task_token")),  # issue 19
            last_error=item["last_error"] if isinstance(item.get("last_error"), str) else None,
        )

    @property
    def age_from(self) -> int:
        """Where MAX_AGE_SECONDS and the pending age count from: the submission, or the last operator retry. A
        `submitted_at` more than FUTURE_SLACK_SECONDS after the first claim (a hand-written item, registration
        refuses those) ages from that claim instead, so the request still expires."""
        start = self.submitted_at
        if self.first_claimed_at is not None and start > self.first_claimed_at + FUTURE_SLACK_SECONDS:
            start = self.first_claimed_at
        return max(start, self.retried_at or 0)
