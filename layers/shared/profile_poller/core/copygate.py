"""Every file copy goes through a gate: at most COPY_CONCURRENCY at once, each with a deadline. Ports only.

- **Bound**: a copy holds about 25 MB (s3transfer's part buffers, the part being read, the parser), so copies are
  limited apart from status calls (CONCURRENCY): eight requests finishing together would otherwise hold eight
  copies at once and outgrow a 256 MB function. A copy waits for a slot at most until its deadline.
- **Deadline**: the Lambda time left minus TIME_MARGIN_SECONDS, checked before every read from the source (the
  HTTP adapter returns what has arrived, so a read waits at most HTTP_TIMEOUT_SECONDS). A copy past its deadline
  raises CopyOutOfTime: the upload reading it is aborted (no partial object), the request is rescheduled like any
  transient failure, and the sweep still has the margin to publish what it decided.
- **Too large for one invocation**: a file whose announced size needs longer than a whole invocation can give it
  at COPY_MIN_BYTES_PER_SECOND (the time left when the sweep started, minus the margin) is never started: it is
  not archived, with the reason (TooSlowToCopy). One that fits an invocation but not the time left now is cut
  before its first byte and tried again by a later sweep.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from .log import logger
from .ports import CopyOutOfTime, RemoteFile, TooSlowToCopy
from .settings import Settings


@dataclass(frozen=True)
class CopyClock:
    """`time_left()`: seconds until the copy deadline; `invocation_seconds`: the most any copy of this sweep gets."""

    time_left: Callable[[], float]
    invocation_seconds: float
    min_bytes_per_second: float

    @classmethod
    def for_sweep(cls, settings: Settings, remaining_ms: Callable[[], int]) -> CopyClock:
        def time_left() -> float:
            return remaining_ms() / 1000 - settings.time_margin_seconds

        return cls(time_left, time_left(), float(settings.copy_min_bytes_per_second))


class CopyGate:
    """Opens a file for copying: takes a copy slot, admits the file by its size, and yields it with the deadline
    enforced on every read. `open` takes the source's opener, so HTTPS and SFTP copies share the one bound."""

    def __init__(self, slots: int, clock: CopyClock, on_cut: Callable[[], None]) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._clock = clock
        self._on_cut = on_cut

    @contextmanager
    def open(self, opener: Callable[[], AbstractContextManager[RemoteFile]]) -> Iterator[RemoteFile]:
        if not self._slots.acquire(timeout=max(0.0, self._clock.time_left())):
            raise self._cut("no copy slot came free before the copy deadline")
        try:
            with opener() as remote:
                self._admit(remote.content_length)
                yield _TimedFile(remote, self)
        finally:
            self._slots.release()

    def _admit(self, length: int | None) -> None:
        if length is None:  # chunked or encoded: no prediction, the deadline alone applies
            return
        rate = self._clock.min_bytes_per_second
        needs = length / rate
        if needs > self._clock.invocation_seconds:
            raise TooSlowToCopy(
                f"file of {length} bytes cannot be copied within one invocation: at the assumed minimum of "
                f"{rate:.0f} bytes/s (COPY_MIN_BYTES_PER_SECOND) it needs {needs:.0f} s, an invocation gives a copy "
                f"at most {self._clock.invocation_seconds:.0f} s"
            )
        left = self._clock.time_left()
        if needs > left:
            raise self._cut(
                f"file of {length} bytes needs {needs:.0f} s at the assumed minimum rate, {left:.0f} s left"
            )

    def check(self) -> None:
        if self._clock.time_left() <= 0:
            raise self._cut("copy deadline reached (TIME_MARGIN_SECONDS before the function timeout)")

    def _cut(self, reason: str) -> CopyOutOfTime:
        self._on_cut()
        logger.warning("file copy cut; retried by a later sweep", extra={"reason": reason})
        return CopyOutOfTime(f"copy deadline: {reason}")


class _TimedFile:
    """The source file, checking the gate's deadline before each read."""

    def __init__(self, source: RemoteFile, gate: CopyGate) -> None:
        self._source = source
        self._gate = gate

    @property
    def content_length(self) -> int | None:
        return self._source.content_length

    @property
    def url(self) -> str:
        return self._source.url

    def read(self, size: int = -1, /) -> bytes:
        self._gate.check()
        return self._source.read(size)
