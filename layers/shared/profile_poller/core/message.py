"""The SNS message contract (DESIGN §4): body, Subject and filterable attributes of one outcome."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .bounds import epoch_seconds
from .model import Outcome, StoredFile

SCHEMA_VERSION = "2"  # v1 -> v2 is written down in docs/subscribers.md (archived files; correlation, retry-N)
SUBJECT_LIMIT = 100  # SNS rejects longer subjects


@dataclass(frozen=True)
class Message:
    event_id: str
    subject: str
    body: str
    attributes: dict[str, str]


def _iso(epoch: int) -> str:
    """ISO 8601 UTC; a time in milliseconds or out of range follows bounds.epoch_seconds (never raises)."""
    return datetime.fromtimestamp(epoch_seconds(int(epoch)), UTC).isoformat().replace("+00:00", "Z")


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@")


def public_source(source: str) -> str:
    """The file value as subscribers see it: no user, password, query or fragment (a signed URL's query is a
    credential). The item in the table keeps the raw value (`profile-poller show`)."""
    try:
        parts = urlsplit(source)
    except ValueError:  # not a URL (an unclosed IPv6 bracket): cut what could carry a credential by hand
        return _USERINFO.sub(r"\1", source.partition("?")[0].partition("#")[0])
    if not parts.scheme and not parts.netloc:
        return parts.path
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    return urlunsplit((parts.scheme, netloc + (f":{port}" if port else ""), parts.path, "", ""))


def _file_entry(f: StoredFile) -> dict[str, Any]:
    return {
        "role": f.role,
        "source": public_source(f.source),
        "archived": f.archived,
        "s3_uri": f.s3_uri,
        "bytes": f.bytes,
        "sha256": f.sha256,
        "reason": f.reason,
    }


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
        "files": [_file_entry(f) for f in outcome.files],
        "api_code": outcome.api_code,
        "api_description": outcome.api_description,
        "reason": outcome.reason,
        "attempts": outcome.attempts,
        "submitted_at": _iso(outcome.submitted_at),
        "finished_at": _iso(outcome.finished_at),
        "correlation": dict(outcome.correlation),
    }


def subject(outcome: Outcome) -> str:
    if outcome.error_count:
        detail = f" with {outcome.error_count} error(s)"
    elif outcome.update_count is not None:
        detail = f", {outcome.update_count} updated"
    else:
        detail = ""
    if not outcome.archived:
        detail += " (file not archived)"
    text = f"Profile request {outcome.status.value.lower()}{detail}: {outcome.request_id}"
    # SNS takes printable ASCII only (a hand-written request-id may hold anything)
    text = "".join(c if c.isascii() and c.isprintable() else "?" for c in text)
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
            "archived": "true" if outcome.archived else "false",
        },
    )
