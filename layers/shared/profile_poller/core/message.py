"""The SNS message contract (DESIGN §4): body, Subject and filterable attributes of one outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .model import Outcome

SCHEMA_VERSION = "1"
SUBJECT_LIMIT = 100  # SNS rejects longer subjects


@dataclass(frozen=True)
class Message:
    event_id: str
    subject: str
    body: str
    attributes: dict[str, str]


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def message_body(outcome: Outcome) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": outcome.event_id,
        "request_id": outcome.request_id,
        "status": outcome.status.value,
        "kind": outcome.kind.value,
        "update_count": outcome.update_count,
        "error_count": outcome.error_count,
        "errors_by_code": dict(outcome.errors_by_code),
        "first_errors": [
            {"code": row.code, "description": row.description, "index": row.index} for row in outcome.first_errors
        ],
        "files": [{"role": f.role, "s3_uri": f.s3_uri, "bytes": f.bytes, "sha256": f.sha256} for f in outcome.files],
        "api_code": outcome.api_code,
        "api_description": outcome.api_description,
        "reason": outcome.reason,
        "attempts": outcome.attempts,
        "submitted_at": _iso(outcome.submitted_at),
        "finished_at": _iso(outcome.finished_at),
    }


def subject(outcome: Outcome) -> str:
    if outcome.error_count:
        detail = f" with {outcome.error_count} error(s)"
    elif outcome.update_count is not None:
        detail = f", {outcome.update_count} updated"
    else:
        detail = ""
    text = f"Profile request {outcome.status.value.lower()}{detail}: {outcome.request_id}"
    text = "".join(c if c.isprintable() else " " for c in text)
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def build_message(outcome: Outcome) -> Message:
    return Message(
        event_id=outcome.event_id,
        subject=subject(outcome),
        body=json.dumps(message_body(outcome), separators=(",", ":"), sort_keys=True),
        attributes={
            "status": outcome.status.value,
            "kind": outcome.kind.value,
            "has_errors": "true" if outcome.has_errors else "false",
        },
    )
