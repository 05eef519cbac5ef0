"""The one pure function that turns a status-call answer into a verdict (DESIGN §1, the error table).

Decisions use the HTTP status AND the body code together; the code may be a string or a number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class ApiResponse:
    """A status-call answer as the adapter read it (body already capped)."""

    status: int
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Pending:
    """Not finished yet (HTTP 200 + 1010)."""


@dataclass(frozen=True)
class Finished:
    file: str | None
    error_file: str | None
    update_count: int | None
    warning: str | None = None


@dataclass(frozen=True)
class Failed:
    """Terminal: the request itself is bad."""

    code: str
    description: str


@dataclass(frozen=True)
class Transient:
    """Counts against the request (unless others got no answers either: core/outage.py); asked again later."""

    reason: str
    unexpected: bool = False  # the client raised something no adapter should (counted as an error too)


@dataclass(frozen=True)
class Throttled:
    retry_after: float | None


@dataclass(frozen=True)
class Systemic:
    """Nobody's request is to blame: stop the sweep and alarm."""

    code: str
    reason: str


@dataclass(frozen=True)
class KeyRejected:
    """Invalid or expired key (498): re-read the secret once, then systemic."""

    reason: str


Verdict = Pending | Finished | Failed | Transient | Throttled | Systemic | KeyRejected

STILL_PROCESSING = "1010"
TERMINAL_ANY_STATUS = frozenset({"3005", "7031", "1001"})
TERMINAL_ON_200 = frozenset({"102", "1020"})
DESCRIPTION_LIMIT = 300


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _code_of(body: dict[str, object]) -> str | None:
    if "code" not in body:
        return None
    code = body["code"]
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    if isinstance(code, bool) or not isinstance(code, str | int):
        return str(code)[:40]
    return str(code).strip()


def _parse(body: bytes) -> tuple[dict[str, object], str | None]:
    """The body as a JSON object, or ({}, why not)."""
    if not body.strip():
        return {}, "an empty body"
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}, "a non-JSON body"
    if not isinstance(data, dict):
        return {}, f"a JSON {type(data).__name__} instead of an object"
    return data, None


def _description(body: dict[str, object]) -> str:
    return str(body.get("description", ""))[:DESCRIPTION_LIMIT]


def _update_count(value: object) -> tuple[int | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value, None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()), None
    return None, f"update-count {str(value)[:40]!r} is not a non-negative whole number"


def _finished(body: dict[str, object]) -> Verdict:
    paths: list[str | None] = []
    for name in ("file", "error-file"):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            return Transient(f"finished answer has an unusable {name!r} value")
        paths.append(value.strip() if isinstance(value, str) else None)
    count, warning = _update_count(body.get("update-count"))
    return Finished(file=paths[0], error_file=paths[1], update_count=count, warning=warning)


def classify(response: ApiResponse, now: float) -> Verdict:
    status = response.status
    body, unreadable = _parse(response.body)
    code = _code_of(body)

    if status == 429 or code == "429":
        return Throttled(parse_retry_after(_header(response.headers, "retry-after"), now))
    if code is not None and (code in TERMINAL_ANY_STATUS or (status == 200 and code in TERMINAL_ON_200)):
        return Failed(code, _description(body))
    if code == "430":
        return Systemic("430", f"authorization failed for this key (HTTP {status}, code 430)")
    if status in (401, 498) or code == "498":
        return KeyRejected(f"HTTP {status}, code {code}: invalid or expired key")
    if status == 405 or code == "405":
        return Systemic("405", f"method not supported (HTTP {status}); the poller calls the API wrongly")
    if status == 200 and code == STILL_PROCESSING:
        return Pending()
    if unreadable is not None:
        return Transient(f"HTTP {status} with {unreadable}")
    if status == 200 and code is None:
        if any(name in body for name in ("file", "error-file", "update-count")):
            return _finished(body)
        return Transient("HTTP 200 answer without a code or any file (unrecognised)")
    if code is None:
        return Transient(f"HTTP {status} answer without a code")
    return Transient(f"HTTP {status}, code {code}: {_description(body)[:120]}")
