"""Staying up while requests fall due (STAY_UP_SECONDS): a short job is announced seconds after it finished, not
at the next scheduled sweep.

With STAY_UP_SECONDS=0 a sweep makes one pass over the due index and ends. Otherwise, after each pass, the sweep
looks at the due index up to its stay-up deadline (the start plus STAY_UP_SECONDS, and never past the Lambda's
time budget): when a request falls due before it, the sweep waits on the injected clock until that request is
due, or LOOK_EVERY_SECONDS at most (so a request registered meanwhile is asked within that), then makes another
pass. When nothing falls due before the deadline it ends. A request claimed younger than BACKOFF_BASE_SECONDS is
given back unasked, due at that age (`first_check_at`). A sweep that finds nothing due before its deadline
before taking the asking lease ends after those Queries alone: an idle stack costs one Query a shard a sweep.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Protocol

from .schedule import Due
from .settings import Settings
from .shards import shards_to_read

LOOK_EVERY_SECONDS = 5.0  # a lingering sweep reads the due index at least this often (new registrations)
MIN_WAIT_SECONDS = 1.0  # between two passes (something due now that was not claimed is not spun on)
MAX_STAY_UP_SECONDS = 840  # the Lambda's 15 minutes less a minute; the time budget also bounds every wait


def first_check_at(attempts: int, age_from: int, now: int, settings: Settings) -> int | None:
    """With the age-capped cadence (BACKOFF_AGE_FRACTION > 0), a request never asked and younger than
    BACKOFF_BASE_SECONDS is first asked at that age: the second at which to ask it, else None (ask now).

    A job is rarely done the second it is submitted; asking it then spends a call on nearly every request, while a
    job finishing before the first check is announced at most BACKOFF_BASE_SECONDS after it finished."""
    if settings.backoff_age_fraction <= 0 or attempts > 0:
        return None
    at = age_from + math.ceil(settings.backoff_base_seconds)
    return at if at > now else None


class DueReader(Protocol):
    def due_ids(self, shard: str, now: int) -> Iterable[Due]: ...


class StayUp:
    """Decides, after each pass of a sweep, whether to wait and make another one."""

    def __init__(
        self,
        seconds: float,
        store: DueReader,
        *,
        shards: Callable[[], Iterable[str]],
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        may_wait: Callable[[], float],
    ) -> None:
        """`may_wait()`: the seconds the sweep's time budget still allows it to wait (its reserve deducted)."""
        self._store = store
        self._shards = shards
        self._clock = clock
        self._sleep = sleep
        self._may_wait = may_wait
        self._seconds = max(0.0, seconds)
        self.until = clock() + self._seconds

    @classmethod
    def for_sweep(
        cls,
        settings: Settings,
        store: DueReader,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        may_wait: Callable[[], float],
    ) -> StayUp:
        """Reading every shard a sweep reads (core/shards.py)."""

        def shards() -> Iterator[str]:
            return (shard for shard, _ in shards_to_read(settings.due_shards))

        return cls(settings.stay_up_seconds, store, shards=shards, clock=clock, sleep=sleep, may_wait=may_wait)

    @property
    def enabled(self) -> bool:
        return self._seconds > 0

    def next_due(self) -> Decimal | None:
        """The earliest next check before the deadline over every shard (one Query page each, the index is sorted
        by next_check_at), or None."""
        until = math.floor(self.until)
        earliest: Decimal | None = None
        for shard in self._shards():
            for due in self._store.due_ids(shard, until):
                if earliest is None or due.next_check_at < earliest:
                    earliest = due.next_check_at
                break  # the first entry of a shard is its earliest
        return earliest

    def nothing_soon(self) -> bool:
        """Before the asking lease is taken: True when no request falls due before the deadline (the sweep ends)."""
        return self.enabled and self.next_due() is None

    def wait_for_next(self) -> bool:
        """After a pass: wait for the next request due before the deadline (LOOK_EVERY_SECONDS at most) and
        return True to make another pass; False to end the sweep."""
        if not self.enabled:
            return False
        now = self._clock()
        room = min(self.until - now, self._may_wait())
        if room < MIN_WAIT_SECONDS:
            return False
        earliest = self.next_due()
        if earliest is None:
            return False
        wait = min(max(math.ceil(earliest) - now, MIN_WAIT_SECONDS), LOOK_EVERY_SECONDS, room)  # due in whole seconds
        self._sleep(wait)
        return True
