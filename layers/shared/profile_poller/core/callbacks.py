"""Step Functions task tokens (docs/producers.md, "Waiting in a workflow"): which callback a finished request
makes, the `cause` clipped to Step Functions' limit, refused vs transient answers, and the heartbeats of a
request still pending. Pure decisions and a small driver over the TaskCallbacks port; no boto3 here.

A task token is a credential for one task: it is passed to the port and nowhere else (no log, no exception, no
message, no summary). What is recorded on the item is only whether the callback was delivered or refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .counters import CounterName
from .log import logger
from .model import Outcome, Status
from .ports import CallbackRefused, CallbackUnavailable, TaskCallbacks
from .settings import Settings

CAUSE_MAX_CHARS = 32_768  # SendTaskFailure's `cause` limit
ERROR_FAILED = "ProfileRequestFailed"
ERROR_EXPIRED = "ProfileRequestExpired"
# answers that mean the token will never be accepted: the task timed out, was closed, or the token is not one
REFUSED_CODES = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken", "InvalidOutput", "ValidationException"})
# cut in this order when the message is over CAUSE_MAX_CHARS; emptied (not removed) so the cause keeps the schema
_DROPPED_FIRST = ("first_errors", "errors_by_code")


@dataclass(frozen=True)
class Succeed:
    output: str


@dataclass(frozen=True)
class Fail:
    error: str
    cause: str


Call = Succeed | Fail


def _dumps(body: Mapping[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), sort_keys=True)  # as core/message.py builds the SNS body


def clip_cause(body: Mapping[str, Any], limit: int = CAUSE_MAX_CHARS) -> str:
    """The outcome message as a `cause` of at most `limit` characters that is still valid JSON: first_errors
    emptied, then errors_by_code, and only then every string in it cut shorter and shorter (with '...')."""
    text = _dumps(body)
    if len(text) <= limit:
        return text
    data = dict(body)
    for name in _DROPPED_FIRST:
        data[name] = type(data.get(name, []))()
        text = _dumps(data)
        if len(text) <= limit:
            return text
    cap = 1024
    while cap >= 8:
        text = _dumps(_cut_strings(data, cap))
        if len(text) <= limit:
            return text
        cap //= 2
    return _dumps({k: data.get(k) for k in ("event_id", "status", "kind")} | {"request_id": data.get("request_id")})


def _cut_strings(value: Any, cap: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= cap else value[: cap - 3] + "..."
    if isinstance(value, dict):
        return {k: _cut_strings(v, cap) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_strings(v, cap) for v in value]
    return value


def final_call(outcome: Outcome) -> Call:
    """COMPLETED -> SendTaskSuccess with the outcome message; FAILED / EXPIRED -> SendTaskFailure with the error
    name a workflow's Catch matches and the message as the cause."""
    from .message import message_body  # noqa: PLC0415 - lazy: a sweep of pending checks calls nobody back

    body = message_body(outcome)
    if outcome.status is Status.COMPLETED:
        return Succeed(_dumps(body))
    error = ERROR_EXPIRED if outcome.status is Status.EXPIRED else ERROR_FAILED
    return Fail(error, clip_cause(body))


def is_refused(code: str) -> bool:
    """True when Step Functions will never take this callback (the token is dead, or the call can never be
    valid); False for what may pass later: throttling, a 5xx, no answer, access denied (a policy can be fixed),
    and any code not known to be final (retried like an unpublished message rather than dropped)."""
    return code in REFUSED_CODES


def valid_token(value: object) -> str | None:
    """A token as read from an item: a non-empty string, else None (a hand-written item may hold anything)."""
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class Refused:
    code: str


@dataclass(frozen=True)
class Unavailable:
    code: str


Delivery = Delivered | Refused | Unavailable


def undelivered(code: str) -> dict[str, str]:
    """The record of a callback still failing when DELIVERY_RETRY_SECONDS ran out (the request finished anyway)."""
    return {"result": "undelivered", "error": code}


# How long after the decision an outcome is offered again to a door (SNS, the bus) or a callback that keeps
# failing for a reason that may pass (throttling, 5xx, AccessDenied): then the request finishes anyway, the miss
# counted (OutcomesUndelivered / CallbacksUndelivered, alarmed). Step Functions keeps a task at most a year, but a
# workflow waiting past this is better told by its own HeartbeatSeconds/TimeoutSeconds than by a request that
# never ends: docs/reliability.md, "Outcome doors".
DELIVERY_RETRY_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Redelivery:
    """When an outcome a door refused is offered again: after a backoff that doubles with the time since the
    decision (BACKOFF_BASE_SECONDS at first, then as long as it has waited, at most BACKOFF_MAX_SECONDS), never
    every pass of a sweep that stays up; and whether DELIVERY_RETRY_SECONDS have run out."""

    clock: Callable[[], float]
    base_seconds: float = 30.0
    max_seconds: float = 1800.0
    give_up_after: int = DELIVERY_RETRY_SECONDS

    @classmethod
    def of(cls, settings: Settings, clock: Callable[[], float]) -> Redelivery:
        return cls(clock, settings.backoff_base_seconds, settings.backoff_max_seconds)

    def now(self) -> int:
        return int(self.clock())

    def delay(self, outcome: Outcome, now: int) -> int:
        waited = max(0, now - outcome.finished_at)
        return max(1, math.ceil(min(self.max_seconds, max(self.base_seconds, waited))))

    def gave_up(self, outcome: Outcome, now: int) -> bool:
        return now - outcome.finished_at >= self.give_up_after


def record_of(delivery: Delivered | Refused) -> dict[str, str]:
    """What the finished item keeps about its callback (`task_callback`): never the token."""
    if isinstance(delivery, Refused):
        return {"result": "refused", "error": delivery.code}
    return {"result": "delivered"}


class Callbacks:
    """Makes the callbacks of one sweep through the port; `count` takes a summary counter name."""

    def __init__(
        self,
        port: TaskCallbacks | None,
        count: Callable[[CounterName], None],
        *,
        may_call_back: Callable[[], bool] = lambda: True,
        may_heartbeat: Callable[[], bool] = lambda: True,
    ) -> None:
        self._port = port
        self._count = count
        self._may_call_back = may_call_back  # core/budget.py: the sweep's time holds the call and its write
        self._may_heartbeat = may_heartbeat

    def deliver(self, outcome: Outcome, token: str) -> Delivery:
        if self._port is None:
            return Unavailable("no Step Functions client")
        if not self._may_call_back():  # offered again by a later sweep, like a refused entry; not a failure
            return Unavailable("no time left in this sweep")
        call = final_call(outcome)
        try:
            if isinstance(call, Succeed):
                self._port.succeed(token, call.output)
            else:
                self._port.fail(token, call.error, call.cause)
        except CallbackRefused as exc:
            self._count("callbacks_refused")
            logger.warning(
                "Step Functions refused the callback; the request finishes anyway",
                extra={"request_id": outcome.request_id[:128], "error": exc.code},
            )
            return Refused(exc.code)
        except CallbackUnavailable as exc:
            self._count("callback_failures")
            logger.error(
                "callback not delivered; the request stays pending and is sent again",
                extra={"request_id": outcome.request_id[:128], "error": exc.code},
            )
            return Unavailable(exc.code)
        self._count("callbacks_delivered")
        return Delivered()

    def heartbeat(self, request_id: str, token: str | None) -> None:
        """A check found the request still pending: tell the waiting task (best effort, never holds the check)."""
        if token is None or self._port is None:
            return
        if not self._may_heartbeat():  # best effort: the sweep is short of time; HeartbeatSeconds has room for it
            self._count("heartbeats_skipped")
            return
        try:
            self._port.heartbeat(token)
        except CallbackRefused as exc:
            self._count("heartbeats_refused")
            logger.info("the waiting task is gone", extra={"request_id": request_id[:128], "error": exc.code})
            return
        except CallbackUnavailable as exc:
            logger.warning("heartbeat not sent", extra={"request_id": request_id[:128], "error": exc.code})
            return
        self._count("heartbeats")
