"""The chaos run's virtual time: a clock whose `sleep` moves time on instead of waiting, and botocore's retry backoff
made to wait on it, so a run meets every fault and retry without the waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.endpoint


class VirtualClock:
    """Wall time plus an offset. The sweeps' waits (the rate limiter's grants, Retry-After pauses) advance the
    offset instead of sleeping, and the simulator stamps status calls with this clock too, so its hidden limit
    and the limiter agree on what a second is while the run does not wait for them."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.offset += max(0.0, seconds)


class _TimeWithVirtualSleep:
    """The `time` module as botocore's endpoint sees it during the run: everything real but `sleep`."""

    def __init__(self, clock: VirtualClock) -> None:
        self.sleep = clock.sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextmanager
def virtual_aws_backoff(clock: VirtualClock) -> Iterator[None]:
    """botocore's retry backoff (standard mode: up to 20 s between attempts) advances the virtual clock instead of
    sleeping. The injected faults are drawn per request, not per second, so the same calls meet the same faults
    and are retried as often; only the waiting goes (it was most of a small run's time)."""
    saved = botocore.endpoint.time  # type: ignore[attr-defined]
    botocore.endpoint.time = _TimeWithVirtualSleep(clock)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        botocore.endpoint.time = saved  # type: ignore[attr-defined]
