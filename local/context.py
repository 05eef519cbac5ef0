"""A Lambda context for running the handler in-process, and clocks that local runs can move forward."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LambdaContext:
    """The attributes Powertools and the handler read from the real context."""

    function_name: str = "profile-poller-local-PollerFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:profile-poller-local-PollerFunction"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/profile-poller-local-PollerFunction"
    log_stream_name: str = "local"
    timeout_ms: int = 900_000
    monotonic: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._started = self.monotonic()

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((self.monotonic() - self._started) * 1000))


class OffsetClock:
    """Wall time plus an offset that only grows: scheduled ticks jump ahead, rate limits still run in real time."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds
