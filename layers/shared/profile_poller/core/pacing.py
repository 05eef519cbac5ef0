"""Backoff and the client-side rate limit. Time comes in through injected functions, never the wall clock."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable


def backoff_seconds(attempts: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with equal jitter and a floor: uniform in [step / 2, step], at least `base`,
    where step = min(cap, base * 2**attempts).

    Full jitter (uniform in [0, step]) could ask a pending request again a second later, spending the tenant's
    throttle; half the step is kept, so the calls per request stay bounded (docs/configuration.md has the table).
    """
    step = min(cap, base * 2 ** min(max(attempts, 0), 40))
    return max(min(base, cap), rng.uniform(step / 2, step))


class RateLimiter:
    """A token bucket shared by the worker threads: at most `rate` calls a second, bursts of `burst`."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        burst: float = 1.0,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate = rate
        self._burst = max(1.0, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._burst
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Take a token; when none is left, reserve the next one and sleep until it is due (no retry loop)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
