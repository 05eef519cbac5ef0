"""When a request is checked next, and how its attempt count rides along in `next_check_at`.

The claim is the only write of a check that finds the request still pending, so it must set the next check
before the answer is known. The backoff grows with the attempts, but the due index is KEYS_ONLY: a sweep sees
only `request_id`, `due_shard` and `next_check_at`. The count therefore rides in the fraction of
`next_check_at`, in units of 1/10,000 s (`1800000030.0003` = due at 1800000030 after 3 attempts). Producers
write whole seconds (attempts 0); the claim is conditional on the exact value it read, so the count it
decodes is the item's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

UNIT = Decimal("0.0001")
MAX_ATTEMPTS = 9999


@dataclass(frozen=True)
class Due:
    """One entry of the due index: the key and the `next_check_at` the claim is conditional on."""

    request_id: str
    next_check_at: Decimal

    @property
    def attempts(self) -> int:
        return attempts_in(self.next_check_at)


def check_at(at: int, attempts: int) -> Decimal:
    """The `next_check_at` value for a check due at `at` (whole seconds) after `attempts` attempts."""
    return Decimal(int(at)) + Decimal(min(max(attempts, 0), MAX_ATTEMPTS)) * UNIT


def attempts_in(next_check_at: Decimal | int | float | str) -> int:
    """The attempt count carried by a `next_check_at`; 0 for whole seconds or any other fraction
    (a producer writing `time.time()` gets a first check, not a capped backoff)."""
    try:
        value = Decimal(str(next_check_at))
        fraction = value - value.to_integral_value(rounding=ROUND_FLOOR)
    except (InvalidOperation, ValueError):
        return 0
    if not fraction.is_finite() or fraction % UNIT != 0:
        return 0
    return int(fraction / UNIT)


@dataclass(frozen=True)
class AskingLease:
    """The tenant's asking lease as stored: who holds it until when, and the rate state handed between sweeps
    (`rate` as of `rate_at`; no call before `paused_until`, from a Retry-After)."""

    owner: str
    until: int
    rate: float | None = None
    rate_at: float = 0.0
    paused_until: float = 0.0
