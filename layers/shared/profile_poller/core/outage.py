"""An outage is not a failure: telling a request that keeps failing from an API that fails for everyone.

A sweep tallies its status calls: answered (any verdict the API gave, 429 included) or failed transiently (a
timeout, a reset, a 5xx, a body that is not an answer, an unexpected error of the client). Two rules follow:

- OUTAGE: once at least OUTAGE_MIN_CALLS calls are in and more than half failed transiently, the API is failing
  across the board. The sweep stops asking as systemic (the SystemicFailures metric and its alarm) and charges
  nobody; the next sweep tries again.
- CHARGE: a transient failure counts toward its request's MAX_TRANSIENT_ERRORS only when, in this sweep, at
  least as many calls were answered as failed, this one included (others get answers while this one fails).
  Otherwise the request is simply checked again at the next check its claim already set. So a request ends
  FAILED from transient errors only by failing while others get answers; during an outage its MAX_AGE_SECONDS
  runs out and it ends EXPIRED.

Pure and thread-safe; the sweep owns one per run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

OUTAGE_MIN_CALLS = 5


@dataclass(frozen=True)
class Tally:
    """What one status call's result means for its request and for the sweep."""

    charge: bool  # a transient failure that counts toward the request's limit
    outage: str | None  # why the sweep stops asking (the API fails across the board), else None


class OutageWatch:
    def __init__(self, min_calls: int = OUTAGE_MIN_CALLS) -> None:
        self._min_calls = min_calls
        self._answered = 0
        self._failed = 0
        self._lock = threading.Lock()

    def record(self, transient: bool) -> Tally:
        with self._lock:
            if transient:
                self._failed += 1
            else:
                self._answered += 1
            answered, failed = self._answered, self._failed
        calls = answered + failed
        outage = None
        if calls >= self._min_calls and 2 * failed > calls:
            outage = (
                f"the API is failing across the board: {failed} of {calls} status calls failed transiently "
                "(timeouts, resets, 5xx); nobody is charged, the next sweep asks again"
            )
        return Tally(charge=transient and answered >= failed, outage=outage)
