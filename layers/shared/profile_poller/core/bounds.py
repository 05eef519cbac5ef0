"""Bounds on what an outcome stores and sends (docs/subscribers.md, "Bounds"), and on epoch times.

An error file is written by someone else: a code may be empty (DynamoDB refuses an empty map key) or 100 KB long,
a description 128 K characters, the codes may all differ. An outcome keeps at most MAX_CODES distinct codes (the
least frequent folded into OTHER_CODE), codes of CODE_CHARS, descriptions of DESCRIPTION_CHARS, so the item stays
far below DynamoDB's 400 KB and the message below SNS's 256 KiB, whatever the file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

CODE_CHARS = 64
DESCRIPTION_CHARS = 300
INDEX_CHARS = 64
REASON_CHARS = 1000
SOURCE_CHARS = 2048
FIRST_ROWS = 10  # rows of the error file kept in first_errors
MAX_CODES = 50  # distinct codes in errors_by_code, OTHER_CODE included
PARSER_CODES = 1000  # distinct codes the parser tracks exactly before folding the rarest into OTHER_CODE
EMPTY_CODE = "(empty)"
OTHER_CODE = "(other)"

MS_THRESHOLD = 100_000_000_000  # epoch seconds of year 5138; as milliseconds, 1973-03-03
MAX_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second an ISO 8601 date can show
MAX_SUBMITTED_AT = 10**10  # registration takes epoch seconds below this (year 2286): milliseconds are refused
FUTURE_SLACK_SECONDS = 300  # a submitted_at further ahead of the registering clock is refused (a typo, not skew)


def clip(text: str | None, limit: int) -> str | None:
    """At most `limit` characters; a cut text ends with '...' so readers can tell."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def code_key(code: str) -> str:
    """A code as a map key: stripped, never empty, at most CODE_CHARS."""
    code = code.strip()
    return clip(code, CODE_CHARS) or EMPTY_CODE


def fold_codes(counts: Mapping[str, int], keep: int = MAX_CODES) -> dict[str, int]:
    """Codes made map-safe; past `keep` distinct ones, the least frequent are counted under OTHER_CODE."""
    merged: Counter[str] = Counter()
    for code, count in counts.items():
        merged[code_key(code) if code != OTHER_CODE else OTHER_CODE] += count
    if len(merged) <= keep:
        return dict(merged)
    other = merged.pop(OTHER_CODE, 0)
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    kept = dict(ranked[: keep - 1])
    kept[OTHER_CODE] = other + sum(count for _, count in ranked[keep - 1 :])
    return kept


def epoch_seconds(value: int) -> int:
    """Epoch seconds from a stored time; the documented rule for values that are not seconds:

    a value of MS_THRESHOLD or more is taken as milliseconds (microseconds, ... : divided by 1000 until below),
    then clamped into [0, MAX_EPOCH]. So a `submitted_at` written in milliseconds still gives the right date.
    """
    while value >= MS_THRESHOLD:
        value //= 1000
    return min(max(value, 0), MAX_EPOCH)


class InvalidSubmittedAt(ValueError):
    pass


def validate_submitted_at(value: object, now: int | None = None) -> int:
    """Registration takes whole epoch seconds from 0 to MAX_SUBMITTED_AT, and (given the registering clock `now`)
    at most FUTURE_SLACK_SECONDS ahead of it; anything else is refused, saying why."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSubmittedAt(f"submitted_at must be whole epoch seconds, got {str(value)[:40]!r}")
    if value >= MAX_SUBMITTED_AT:
        hint = f" (e.g. {epoch_seconds(value)})" if value >= MS_THRESHOLD else ""
        raise InvalidSubmittedAt(
            f"submitted_at {value} looks like milliseconds or finer; give epoch seconds{hint}, below {MAX_SUBMITTED_AT}"
        )
    if value < 0:
        raise InvalidSubmittedAt(f"submitted_at {value} is out of range: epoch seconds are not negative")
    if now is not None and value > now + FUTURE_SLACK_SECONDS:
        raise InvalidSubmittedAt(
            f"submitted_at {value} is {value - now} s in the future (at most {FUTURE_SLACK_SECONDS} s ahead is taken)"
        )
    return value
