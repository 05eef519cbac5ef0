"""Registration by event (docs/producers.md): one submission in, the producer item out. Pure: no I/O.

A submission is the EventBridge detail `{"request_id", "kind", "submitted_at"?, "correlation"?}`, arriving either
inside the EventBridge envelope (the bus's rule targets the queue) or bare (a producer sent it to the queue).
What can never succeed raises `Rejected` with the reason; nothing here is retried.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from .bounds import InvalidSubmittedAt, validate_submitted_at
from .callbacks import Callbacks, Unavailable
from .items import outcome_from_map
from .model import InvalidRequestId, Kind, Status, validate_request_id
from .ports import StoreError, TaskCallbacks

DETAIL_TYPE = "Profile Request Submitted"
CORRELATION_MAX_KEYS = 10
CORRELATION_MAX_BYTES = 1024  # keys and values, UTF-8, all together
DETAIL_FIELDS = frozenset({"request_id", "kind", "submitted_at", "correlation", "task_token"})
TOKEN_MAX_CHARS = 2048  # issue 19: Step Functions' task tokens are 1 to 2,048 characters


class Rejected(ValueError):
    """The record can never become a registration; the message says why."""


class Result(StrEnum):
    REGISTERED = "registered"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Submission:
    request_id: str
    kind: Kind
    submitted_at: int | None = None
    correlation: Mapping[str, str] = field(default_factory=dict)
    task_token: str | None = field(default=None, repr=False)  # issue 19: a credential, never shown


class RegistrationStore(Protocol):
    def put_new(self, item: Mapping[str, Any]) -> bool:
        """Put the item unless its request_id exists; False for a duplicate (the existing item is untouched).
        Raises StoreError when the table cannot be written (transient)."""
        ...


class TokenStore(Protocol):
    def adopt_token(self, request_id: str, token: str) -> Mapping[str, Any] | None:
        """Set `task_token` on the item if it is still PENDING (conditional: a finished item is never written);
        None when set, else the item as it is. Raises StoreError when the table cannot be written (transient)."""
        ...


class RejectedRecords(Protocol):
    def keep(self, body: str, reason: str) -> None:
        """Keep the record where an operator finds it, with the reason. Raises StoreError on failure."""
        ...


def due_shard_for(request_id: str, shards: int) -> str:
    """A stable shard for the id, so writes spread over `DUE_SHARDS` index partitions."""
    return str(zlib.crc32(request_id.encode()) % shards) if shards > 1 else "0"


def pending_item(
    request_id: str,
    *,
    kind: Kind | None,
    submitted_at: int,
    shards: int = 1,
    correlation: Mapping[str, str] | None = None,
    task_token: str | None = None,
) -> dict[str, Any]:
    """The producer item of docs/producers.md, plus `correlation` and `task_token` when there are."""
    validate_request_id(request_id)
    item: dict[str, Any] = {
        "request_id": request_id,
        "status": Status.PENDING.value,
        "due_shard": due_shard_for(request_id, shards),
        "next_check_at": 0,
        "submitted_at": submitted_at,
    }
    if kind is not None and kind is not Kind.UNKNOWN:
        item["kind"] = kind.value
    if correlation:
        item["correlation"] = dict(correlation)
    if task_token is not None:  # issue 19
        item["task_token"] = check_task_token(task_token)
    return item


class InvalidTaskToken(ValueError):
    """The task token is not a string of 1 to 2,048 characters; the message never shows the value."""


def check_task_token(value: object) -> str:
    """A Step Functions task token: a string of 1 to 2,048 characters (the error never echoes it)."""
    if not isinstance(value, str):
        raise InvalidTaskToken(f"task_token must be a string, got {type(value).__name__}")
    if not 1 <= len(value) <= TOKEN_MAX_CHARS:
        raise InvalidTaskToken(f"task_token must have 1 to {TOKEN_MAX_CHARS} characters, got {len(value)}")
    return value


_TOKEN_KEY = re.compile(r"task.?token", re.IGNORECASE)


def redacted(body: str) -> str:
    """A record as kept for an operator: every value under a key matching /task.?token/i, at any depth, replaced
    by "***" (a token is a credential); a body that is not a JSON object keeps only its length and a hash."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict | list):
        digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
        return json.dumps({"unreadable_body": {"length": len(body), "sha256": digest}})
    masked, changed = _masked(data)
    return json.dumps(masked) if changed else body


def _masked(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        changed = False
        for key, inner in value.items():
            if isinstance(key, str) and _TOKEN_KEY.search(key):
                out[key], changed = "***", True  # the mask, not a password
                continue
            out[key], hit = _masked(inner)
            changed = changed or hit
        return out, changed
    if isinstance(value, list):
        pairs = [_masked(v) for v in value]
        return [v for v, _ in pairs], any(hit for _, hit in pairs)
    return value, False


def shown(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item as a person sees it (the CLI): a task token shows as "set", never its value."""
    view = dict(item)
    if "task_token" in view:
        view["task_token"] = "set"  # noqa: S105 - the mask, not a password
    return view


def _detail(body: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise Rejected("the body is not JSON") from None
    if not isinstance(data, dict):
        raise Rejected(f"the body is a JSON {type(data).__name__}, not an object")
    if "detail-type" in data or "detail" in data:  # the EventBridge envelope
        if data.get("detail-type") != DETAIL_TYPE:
            raise Rejected(f"detail-type must be {DETAIL_TYPE!r}, got {str(data.get('detail-type'))[:60]!r}")
        detail = data.get("detail")
        if not isinstance(detail, dict):
            raise Rejected("the event's detail is not an object")
        return detail
    return data


def check_correlation(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Rejected(f"correlation must be an object of strings, got {type(value).__name__}")
    if len(value) > CORRELATION_MAX_KEYS:
        raise Rejected(f"correlation has {len(value)} keys; at most {CORRELATION_MAX_KEYS}")
    size = 0
    for key, text in value.items():
        if not key or not isinstance(text, str):
            raise Rejected(f"correlation keys must be non-empty and values strings ({str(key)[:40]!r})")
        try:
            size += len(key.encode()) + len(text.encode())
        except UnicodeEncodeError:  # a lone surrogate (an emoji cut in half): no UTF-8 form, never storable
            shown = repr(key)[:40]
            raise Rejected(f"correlation holds text that is not valid Unicode (a lone surrogate) at {shown}") from None
    if size > CORRELATION_MAX_BYTES:
        raise Rejected(f"correlation is {size} bytes; at most {CORRELATION_MAX_BYTES} (keys and values, UTF-8)")
    return dict(value)


def parse_submission(body: str, now: int | None = None) -> Submission:
    """Read one queue record's body; raise Rejected with the reason if it can never be registered (a
    `submitted_at` more than FUTURE_SLACK_SECONDS after `now` included)."""
    detail = _detail(body)
    unknown = sorted(set(detail) - DETAIL_FIELDS)
    if unknown:
        raise Rejected(f"unknown field(s) {', '.join(repr(k[:40]) for k in unknown[:5])}")
    try:
        request_id = validate_request_id(detail.get("request_id"))
    except InvalidRequestId as exc:
        raise Rejected(str(exc)) from None
    kind = Kind.parse(detail.get("kind")) if isinstance(detail.get("kind"), str) else Kind.UNKNOWN
    if kind is Kind.UNKNOWN or detail.get("kind") != kind.value:
        raise Rejected(f'kind must be "get" or "update", got {str(detail.get("kind"))[:40]!r}')
    submitted_at = detail.get("submitted_at")
    if submitted_at is not None:
        try:
            validate_submitted_at(submitted_at, now)  # the helper and the CLI use the same rule
        except InvalidSubmittedAt as exc:
            raise Rejected(str(exc)) from None
    token = detail.get("task_token")
    if token is not None:
        try:
            check_task_token(token)
        except InvalidTaskToken as exc:
            raise Rejected(str(exc)) from None
    return Submission(request_id, kind, submitted_at, check_correlation(detail.get("correlation")), token)


def register(
    body: str,
    store: RegistrationStore,
    rejected: RejectedRecords,
    now: int,
    shards: int = 1,
    *,
    tokens: TokenStore | None = None,
    tasks: TaskCallbacks | None = None,
) -> tuple[Result, str]:
    """Register one record: (result, request-id or the rejection reason). StoreError propagates (transient).
    A duplicate with a task token (`tokens` given) is not dropped: see `late_token`."""
    try:
        submission = parse_submission(body, now)
    except Rejected as exc:
        rejected.keep(redacted(body), str(exc))
        return Result.REJECTED, str(exc)
    item = pending_item(
        submission.request_id,
        kind=submission.kind,
        submitted_at=now if submission.submitted_at is None else submission.submitted_at,
        shards=shards,
        correlation=submission.correlation,
        task_token=submission.task_token,
    )
    created = store.put_new(item)
    if not created and submission.task_token is not None and tokens is not None:
        late_token(submission.request_id, submission.task_token, tokens, tasks)
    return (Result.REGISTERED if created else Result.DUPLICATE), submission.request_id


def late_token(request_id: str, token: str, tokens: TokenStore, tasks: TaskCallbacks | None) -> str:
    """A second workflow registers a known request (docs/producers.md, "Registering twice"): a pending request
    takes its token in place of the earlier one (the latest registration wins; the request is not moved); a
    finished one is called back at once with its stored outcome. Nothing else of the item changes. Returns what
    was done; raises StoreError when the callback may pass later, so SQS delivers the record again."""
    existing = tokens.adopt_token(request_id, token)
    if existing is None:
        return "token replaced"
    stored = existing.get("outcome")
    if not isinstance(stored, Mapping) or existing.get("status") == Status.PENDING.value:
        return "not pending, no outcome: nothing to call back"
    delivery = Callbacks(tasks, lambda name: None).deliver(outcome_from_map(request_id, stored), token)
    if isinstance(delivery, Unavailable):
        raise StoreError(f"calling back a late workflow of {request_id[:128]} failed: {delivery.code}")
    return "called back"
