"""The sweep's time budget: stop claiming while the work already in flight can still finish in the Lambda's time.

What an item may still do after the last check before it asks: one status call (bounded by HTTP_TIMEOUT_SECONDS),
its settle write (decide, reschedule or release), a heartbeat (issue 19) and, if its outcome completes a batch, one
PublishBatch, ten Step Functions callbacks and ten terminal writes in a row; the final flush is the same.
Callbacks and heartbeats are timed like the AWS writes; a callback starts only while the budget still holds it and
its terminal write (else the outcome is offered again by a later sweep), and a heartbeat only while the sweep is not
short of time (a skipped one is counted: the workflow's HeartbeatSeconds has room for it, docs/producers.md).
Each AWS call is bounded by the botocore timeouts and attempts (entry/aws.py), but reserving that bound (35 s a
call) for two dozen calls would keep back minutes of every sweep, so the reserve uses the slowest AWS call this
sweep has seen: a slow table shows itself in the first claims. Whatever is cut off anyway is not lost: its lease
expires and it is due again (docs/reliability.md).
File copies are not counted here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .callbacks import Callbacks
from .counters import CounterName
from .doors import AllDoors
from .model import Outcome
from .outcomes import SNS_BATCH
from .ports import Notifier, RequestStore, TaskCallbacks
from .schedule import AskingLease, Due
from .settings import Settings

# calls that may still run in a row for one item after the last check: the settle write, then a batch's
# PublishBatch and its terminal writes
CALLS_IN_FLIGHT = 1 + 1 + SNS_BATCH
# and Step Functions calls (issue 19), reserved at the slowest one seen: its heartbeat, then a batch's callbacks
TASK_CALLS_IN_FLIGHT = 1 + SNS_BATCH
HTTP_CONNECT_TRIES = 3  # the API session retries a failed connect twice (adapters/campaign_api.py)


def api_call_bound(settings: Settings) -> float:
    """The longest one status call can take: connect tries, then the read timeout."""
    return HTTP_CONNECT_TRIES * min(settings.http_timeout_seconds, 5.0) + settings.http_timeout_seconds


class TimeBudget:
    def __init__(self, settings: Settings, remaining_ms: Callable[[], int], clock: Callable[[], float]) -> None:
        self._margin = float(settings.time_margin_seconds)
        self._api = api_call_bound(settings)
        self._remaining_ms = remaining_ms
        self.clock = clock
        self._slowest = 0.0
        self._slowest_task = 0.0  # Step Functions: timed apart, since most sweeps make no callback at all
        self._lock = threading.Lock()

    @property
    def slowest_call(self) -> float:
        return self._slowest

    def reserve_seconds(self) -> float:
        """TIME_MARGIN_SECONDS plus the worst case of one item's remaining work."""
        return self._margin + self._api + CALLS_IN_FLIGHT * self._slowest + TASK_CALLS_IN_FLIGHT * self._slowest_task

    def spare_seconds(self) -> float:
        """How long a worker may still wait (for the rate limiter) before the reserve is touched."""
        return max(0.0, self._remaining_ms() / 1000 - self.reserve_seconds())

    def short(self) -> str | None:
        """Why the sweep must stop claiming now, or None while there is time."""
        left = self._remaining_ms() / 1000
        reserve = self.reserve_seconds()
        if left >= reserve:
            return None
        return (
            f"time budget: {left:.1f} s left, keeping {self._margin:.0f} s (TIME_MARGIN_SECONDS) + "
            f"{reserve - self._margin:.1f} s for work in flight (slowest AWS call {self._slowest:.2f} s"
            + (f", slowest Step Functions call {self._slowest_task:.2f} s)" if self._slowest_task else ")")
        )

    def may_call_back(self) -> bool:
        """A callback (issue 19) may start: the time left, less the margin, holds it and the terminal write."""
        return self._remaining_ms() / 1000 - self._margin >= self._slowest_task + self._slowest

    def may_heartbeat(self) -> bool:
        """A heartbeat may be sent: the sweep is not short of time (it is best effort, the next check sends one)."""
        return self.short() is None

    def callbacks(self, tasks: TaskCallbacks | None, count: Callable[[CounterName], None]) -> Callbacks:
        return Callbacks(tasks, count, may_call_back=self.may_call_back, may_heartbeat=self.may_heartbeat)

    def watch_tasks(self, tasks: TaskCallbacks | None) -> TaskCallbacks | None:
        return None if tasks is None else _TimedTasks(tasks, self)

    def observe(self, started: float) -> None:
        took = self.clock() - started
        with self._lock:
            self._slowest = max(self._slowest, took)

    def observe_task(self, started: float) -> None:
        took = self.clock() - started
        with self._lock:
            self._slowest_task = max(self._slowest_task, took)

    def watch_store(self, store: RequestStore) -> RequestStore:
        return _TimedStore(store, self)

    def watch_notifier(self, notifier: Notifier) -> Notifier:
        if isinstance(notifier, AllDoors):  # each door timed on its own: they are called one after the other
            return notifier.wrapped(lambda door: _TimedNotifier(door, self))
        return _TimedNotifier(notifier, self)


class _TimedStore:
    """The store, with each write timed into the budget (reads of the due index are not in flight work)."""

    def __init__(self, inner: RequestStore, budget: TimeBudget) -> None:
        self._inner = inner
        self._budget = budget
        self._clock = budget.clock

    def due_ids(self, shard: str, now: int) -> Iterator[Due]:
        return self._inner.due_ids(shard, now)

    def claim(self, due: Due, owner: str, now: int, next_check_at: Decimal, attempts: int) -> Mapping[str, Any] | None:
        started = self._clock()
        try:
            return self._inner.claim(due, owner, now, next_check_at, attempts)
        finally:
            self._budget.observe(started)

    def reschedule(
        self, request_id: str, owner: str, next_check_at: Decimal, transient_errors: int, last_error: str | None
    ) -> None:
        started = self._clock()
        try:
            self._inner.reschedule(request_id, owner, next_check_at, transient_errors, last_error)
        finally:
            self._budget.observe(started)

    def release(self, request_id: str, owner: str, next_check_at: Decimal, attempts: int) -> None:
        started = self._clock()
        try:
            self._inner.release(request_id, owner, next_check_at, attempts)
        finally:
            self._budget.observe(started)

    def extend(self, request_id: str, owner: str, next_check_at: Decimal) -> None:
        started = self._clock()
        try:
            self._inner.extend(request_id, owner, next_check_at)
        finally:
            self._budget.observe(started)

    def decide(self, outcome: Outcome, owner: str, next_check_at: Decimal) -> None:
        started = self._clock()
        try:
            self._inner.decide(outcome, owner, next_check_at)
        finally:
            self._budget.observe(started)

    def take_asking(self, owner: str, now: int, until: int) -> AskingLease:
        return self._inner.take_asking(owner, now, until)

    def keep_asking(self, lease: AskingLease) -> None:
        self._inner.keep_asking(lease)

    def end_asking(self, lease: AskingLease) -> None:
        self._inner.end_asking(lease)

    def finish(self, outcome: Outcome, owner: str, expires_at: int) -> None:
        started = self._clock()
        try:
            self._inner.finish(outcome, owner, expires_at)
        finally:
            self._budget.observe(started)

    def finish_called_back(self, outcome: Outcome, owner: str, expires_at: int, callback: Mapping[str, str]) -> None:
        started = self._clock()  # issue 19
        try:
            self._inner.finish_called_back(outcome, owner, expires_at, callback)
        finally:
            self._budget.observe(started)


class _TimedNotifier:
    def __init__(self, inner: Notifier, budget: TimeBudget) -> None:
        self._inner = inner
        self._budget = budget

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        started = self._budget.clock()
        try:
            return self._inner.publish(outcomes)
        finally:
            self._budget.observe(started)


class _TimedTasks:
    """Step Functions callbacks and heartbeats, each timed into the budget (issue 19)."""

    def __init__(self, inner: TaskCallbacks, budget: TimeBudget) -> None:
        self._inner = inner
        self._budget = budget

    def succeed(self, token: str, output: str) -> None:
        started = self._budget.clock()
        try:
            self._inner.succeed(token, output)
        finally:
            self._budget.observe_task(started)

    def fail(self, token: str, error: str, cause: str) -> None:
        started = self._budget.clock()
        try:
            self._inner.fail(token, error, cause)
        finally:
            self._budget.observe_task(started)

    def heartbeat(self, token: str) -> None:
        started = self._budget.clock()
        try:
            self._inner.heartbeat(token)
        finally:
            self._budget.observe_task(started)
