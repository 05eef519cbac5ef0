"""Step Functions adapter (issue 19): SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat for one task token.

An SDK error becomes CallbackRefused (the token will never be accepted) or CallbackUnavailable (try again later),
decided by core.callbacks.is_refused from the error code alone. Neither carries the token nor the service's
message (which may quote it): only the code.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.callbacks import is_refused
from ..core.ports import CallbackRefused, CallbackUnavailable

ERROR_CHARS = 256  # SendTaskFailure's `error` limit


def _mapped(exc: ClientError | BotoCoreError) -> Exception:
    if isinstance(exc, BotoCoreError):  # no answer: connection refused, reset, read timeout
        return CallbackUnavailable(type(exc).__name__)
    code = str(exc.response.get("Error", {}).get("Code", "Unknown"))[:100]
    return CallbackRefused(code) if is_refused(code) else CallbackUnavailable(code)


class StepFunctionsCallbacks:
    def __init__(self, client: Any, *, heartbeats: Any = None) -> None:
        self._client = client
        self._heartbeats = heartbeats or client  # a one-try client with short timeouts (entry/aws.py)

    def succeed(self, token: str, output: str) -> None:
        try:
            self._client.send_task_success(taskToken=token, output=output)
        except (ClientError, BotoCoreError) as exc:
            raise _mapped(exc) from None  # `from None`: the SDK error's text may quote the token

    def fail(self, token: str, error: str, cause: str) -> None:
        try:
            self._client.send_task_failure(taskToken=token, error=error[:ERROR_CHARS], cause=cause)
        except (ClientError, BotoCoreError) as exc:
            raise _mapped(exc) from None

    def heartbeat(self, token: str) -> None:
        try:
            self._heartbeats.send_task_heartbeat(taskToken=token)
        except (ClientError, BotoCoreError) as exc:
            raise _mapped(exc) from None
