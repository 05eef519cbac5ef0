"""What a finished answer becomes once its files were copied (the truthful-outcome rule). Pure.

The status says what happened to the Campaign request: a final answer is COMPLETED even when a file could not
be archived. A transient copy failure is retried within bounds (FILE_NOT_FOUND_TRIES for a missing file,
MAX_TRANSIENT_ERRORS otherwise, MAX_AGE_SECONDS overall); past them the file is marked not archived instead.
"""

from __future__ import annotations

from typing import Any

from .classify import Finished
from .copier import Copied, infer_kind
from .items import PendingRequest
from .model import Kind
from .settings import Settings

COPY_RETRY = "file copy failed ("  # how a copy retry's reason starts (the item's last_error)


def answered_final(request: PendingRequest) -> bool:
    """The API gave this request its final answer and only a file copy is being retried: the Campaign job finished,
    so it must end COMPLETED (its copy given up past MAX_AGE_SECONDS), never EXPIRED unasked."""
    return (request.last_error or "").startswith(COPY_RETRY)


def retry_reason(copied: Copied, request: PendingRequest, now: int, settings: Settings) -> str | None:
    """Why the request should be asked again later, or None when it completes now (unsettled files given up)."""
    if not copied.unsettled or now - request.age_from >= settings.max_age_seconds:
        return None
    tries = request.transient_errors + 1
    for unsettled in copied.unsettled:
        limit = settings.file_not_found_tries if unsettled.missing else settings.max_transient_errors
        if tries < limit:
            return f"{COPY_RETRY}{unsettled.role}): {unsettled.error}"
    return None


def completed_fields(request: PendingRequest, answer: Finished, copied: Copied) -> dict[str, Any]:
    """The Outcome fields of a COMPLETED request (copied has no unsettled files left)."""
    errors = copied.errors
    kind = infer_kind(request.kind, answer)
    if errors is not None:
        error_count = errors.error_count
    elif answer.error_file is not None:  # listed but not read: the count is unknown, never zero
        error_count = None
    else:
        error_count = 0 if kind is Kind.UPDATE else None
    notes = [answer.warning, errors.problem if errors else None]
    notes += [f"{f.role} not archived: {f.reason}" for f in copied.files if not f.archived]
    return {
        "kind": kind,
        "update_count": answer.update_count,
        "error_count": error_count,
        "errors_by_code": errors.errors_by_code if errors else {},
        "first_errors": tuple(errors.first_rows) if errors else (),
        "files": copied.files,
        "reason": "; ".join(n for n in notes if n) or None,
    }
