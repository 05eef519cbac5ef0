"""Step Functions task tokens (docs/producers.md, "Waiting in a workflow"): which callback a finished request
makes, the `cause` clipped to Step Functions' limit, refused vs transient answers, and the heartbeats of a
request still pending. Pure decisions and a small driver over the TaskCallbacks port; no boto3 here.

A task token is a credential for one task: it is passed to the port and nowhere else (no log, no exception, no
message, no summary). What is recorded on the item is only whether the callback was delivered or refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .log import logger
from .model import Outcome, Status
from .ports import CallbackRefused, CallbackUnavailable, TaskCallbacks

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


def record_of(delivery: Delivered | Refused) -> dict[str, str]:
    """What the finished item keeps about its callback (`task_callback`): never the token."""
    if isinstance(delivery, Refused):
        return {"result": "refused", "error": delivery.code}
    return {"result": "delivered"}


class Callbacks:
    """Makes the callbacks of one sweep through the port; `count` takes a summary counter name."""

    def __init__(self, port: TaskCallbacks | None, count: Callable[[str], None]) -> None:
        self._port = port
        self._count = count

    def deliver(self, outcome: Outcome, token: str) -> Delivery:
        if self._port is None:
            return Unavailable("no Step Functions client")
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
