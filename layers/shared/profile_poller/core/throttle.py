"""The status-call rate: spaced grants, AIMD on 429 (the tenant's own limit found), Retry-After honoured.

Time comes in through injected functions, never the wall clock. One sweep at a time asks for a tenant (the
asking lease, see sweep.py), so this limiter holds the rate across sweeps; its state is handed from sweep to
sweep on the lease item.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Protocol

from .log import logger
from .ports import LeaseLost, StoreError
from .schedule import AskingLease

DECREASE = 0.75  # multiplicative decrease on a 429
RECOVERY_STEPS = 80  # additive recovery: the configured rate is regained over this many seconds from zero
FLOOR = 0.05  # never below one call in 20 s
CALM_SECONDS = 1.0  # 429s within this long of a decrease answer calls made before it: no second decrease
LONG_AGO = float("-inf")  # before any clock reading: a grant, a calm period or a renewal due at once


class PauseTooLong(Exception):
    """The next grant is further off than the caller may wait (a Retry-After, or the sweep's time budget): the
    caller gives its request back instead of sleeping."""


class AdaptiveLimiter:
    """At most `rate` grants a second, each at least 1/rate after the previous one on the clock (a caller that
    wakes late does not bunch with the next: the burst is one call). On a 429 the rate drops to DECREASE x the
    rate the API accepted in the last second (between half the current rate and the current rate); it then
    recovers by ceiling / RECOVERY_STEPS per second up to the ceiling (RATE_LIMIT_PER_SECOND). Retry-After
    pauses every grant, for at most `max_pause` seconds (BACKOFF_MAX_SECONDS), whether it comes from an answer or
    from the stored lease."""

    def __init__(
        self,
        ceiling: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        *,
        rate: float | None = None,
        rate_at: float | None = None,
        paused_until: float = 0.0,
        max_pause: float = float("inf"),
    ) -> None:
        if ceiling <= 0:
            raise ValueError("rate must be positive")
        self._ceiling = ceiling
        self._max_pause = max(0.0, max_pause)
        self._clock = clock
        self._sleep = sleep
        self._rate = min(ceiling, max(FLOOR, rate if rate is not None else ceiling))
        self._stamp = clock() if rate_at is None else rate_at  # when _rate was last brought up to date
        self._next = LONG_AGO  # the earliest next grant
        self._paused_until = min(paused_until, clock() + self._max_pause)  # a stored pause of years: clamped
        self._calm_until = LONG_AGO
        self._accepted: deque[float] = deque()  # when the API accepted (did not throttle) recent calls
        self._lock = threading.Lock()  # guards the state
        self._gate = threading.Lock()  # one caller waits for the next grant at a time

    @property
    def rate(self) -> float:
        with self._lock:
            self._recover(self._clock())
            return self._rate

    @property
    def paused_until(self) -> float:
        with self._lock:
            return self._paused_until

    def state(self, owner: str, until: int) -> AskingLease:
        """The lease to store: the rate as of now, and any pause still ahead."""
        with self._lock:
            now = self._clock()
            self._recover(now)
            return AskingLease(owner, until, self._rate, now, self._paused_until)

    def acquire(self, max_wait: float = float("inf")) -> None:
        """Wait for the next grant (no retry loop: each wait is computed, then slept). `max_wait` bounds the whole
        wait, from the call on: a grant further off than that deadline (a Retry-After that arrived while this
        caller slept included) is not waited for: PauseTooLong, and no grant is taken."""
        deadline = self._clock() + max_wait
        with self._gate:
            while True:
                with self._lock:
                    now = self._clock()
                    self._recover(now)
                    wait = max(self._next, self._paused_until) - now
                    if wait <= 0:
                        self._next = now + 1.0 / self._rate
                        return
                if now + wait > deadline:
                    raise PauseTooLong(
                        f"the next status call is {wait:.0f} s away; the sweep waits {max(0.0, deadline - now):.0f} s"
                        f" more (of {max_wait:.0f} s)"
                    )
                self._sleep(wait)

    def accepted(self) -> None:
        """The API answered a call without throttling it."""
        with self._lock:
            now = self._clock()
            self._accepted.append(now)
            self._last_second(now)

    def throttled(self, retry_after: float | None) -> None:
        """The API answered 429: decrease (once per calm period) and honour Retry-After."""
        with self._lock:
            now = self._clock()
            self._recover(now)
            if retry_after is not None and retry_after > 0:
                self._paused_until = max(self._paused_until, now + min(retry_after, self._max_pause))
            if now < self._calm_until:
                return
            # what the API accepted in the last second is the best guess of its limit; it may also be low because
            # this sweep was not calling much, so it counts down to half the current rate at most
            window = self._last_second(now)
            self._rate = max(FLOOR, DECREASE * min(self._rate, max(float(len(window)), self._rate / 2)))
            self._stamp = now
            self._calm_until = now + CALM_SECONDS
            # tenant limits count per second: the next call waits until the calls the API counted have left it
            window_clears = window[0] + 1.0 if window else now
            self._next = max(self._next, now + 1.0 / self._rate, window_clears)

    def _last_second(self, now: float) -> deque[float]:
        """The accepted calls of the last second (older ones are dropped): the window a tenant limit counts."""
        while self._accepted and self._accepted[0] <= now - 1.0:
            self._accepted.popleft()
        return self._accepted

    def _recover(self, now: float) -> None:
        elapsed = max(0.0, now - self._stamp)  # a clock that stepped back recovers nothing
        self._rate = min(self._ceiling, self._rate + elapsed * self._ceiling / RECOVERY_STEPS)
        self._stamp = max(self._stamp, now)


ASKING_LEASE_SECONDS = 60  # a sweep that dies holding it blocks the tenant's asking for at most this long
LONGEST_PAUSE = ASKING_LEASE_SECONDS / 3  # a Retry-After longer than this ends the sweep instead of sleeping


class LeaseStore(Protocol):
    def take_asking(self, owner: str, now: int, until: int) -> AskingLease: ...

    def keep_asking(self, lease: AskingLease) -> None: ...

    def end_asking(self, lease: AskingLease) -> None: ...


class TenantGate:
    """One sweep at a time asks a tenant's API: the one holding the asking lease, renewed while it asks and given
    up (with the rate state) when it ends. Costs three or four writes a sweep plus one every
    ASKING_LEASE_SECONDS / 3 seconds of asking; whatever the number of status calls."""

    def __init__(
        self,
        store: LeaseStore,
        owner: str,
        ceiling: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        *,
        max_pause: float = float("inf"),
    ) -> None:
        self._store = store
        self._owner = owner
        self._ceiling = ceiling
        self._max_pause = max_pause
        self._clock = clock
        self._sleep = sleep
        self.limiter = AdaptiveLimiter(ceiling, clock, sleep)  # a placeholder: take() builds the one the sweep uses
        self._renew_at = LONG_AGO
        self._held = False
        self._lock = threading.Lock()

    def take(self) -> str | None:
        """Take the lease; None when taken, else why this sweep does not ask (StoreError propagates)."""
        now = self._clock()
        lease = self._store.take_asking(self._owner, int(now), int(now) + ASKING_LEASE_SECONDS)
        if lease.owner != self._owner:
            return (
                f"another sweep ({lease.owner[:80]}) holds the asking lease until {lease.until}: "
                "one sweep at a time asks this tenant's API"
            )
        self.limiter = AdaptiveLimiter(
            self._ceiling,
            self._clock,
            self._sleep,
            rate=lease.rate,
            rate_at=lease.rate_at or None,
            # read back clamped, whatever was stored: at most max_pause after the state was written (rate_at)
            paused_until=min(lease.paused_until, min(lease.rate_at or now, now) + self._max_pause),
            max_pause=self._max_pause,
        )
        self._held, self._renew_at = True, now + ASKING_LEASE_SECONDS / 3
        return None

    def keep(self) -> str | None:
        """Before a status call: renew the lease when due; None to go on, else why the sweep must stop.
        LeaseLost becomes a reason; StoreError propagates."""
        with self._lock:
            now = self._clock()
            pause = self.limiter.paused_until - now
            if pause > LONGEST_PAUSE:
                self._renew_at = LONG_AGO
                return f"the API asked for a pause of {pause:.0f} s (Retry-After); the next sweep waits it out"
            if now < self._renew_at:
                return None
            try:
                self._store.keep_asking(self.limiter.state(self._owner, int(now) + ASKING_LEASE_SECONDS))
            except LeaseLost:
                self._held = False
                return "the asking lease went to another sweep (not renewed in time)"
            self._renew_at = now + ASKING_LEASE_SECONDS / 3
            return None

    def throttled(self, retry_after: float | None) -> None:
        self.limiter.throttled(retry_after)
        with self._lock:
            self._renew_at = LONG_AGO  # store the lowered rate and any pause at the next call

    def end(self) -> None:
        """Give the lease up, handing the rate state to the next sweep; a failure only delays that sweep."""
        if not self._held:
            return
        try:
            self._store.end_asking(self.limiter.state(self._owner, 0))
        except (LeaseLost, StoreError) as exc:
            logger.warning("the asking lease was not given up; it expires", extra={"reason": str(exc)})
        self._held = False
