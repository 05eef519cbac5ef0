"""Lambda handler: wires Powertools, parses the trigger, builds adapters once per container, runs a sweep."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from profile_poller.entry.config import ConfigError, check_lease, load_settings
from profile_poller.entry.events import parse_event
from profile_poller.entry.observability import (
    capture_lambda_handler,
    logger,
    metrics,
    record_sweep,
    record_systemic_failure,
)
from profile_poller.entry.runtime import Runtime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

_runtime: Runtime | None = None  # reused across invocations of a warm container


def _get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime.build(load_settings())
    return _runtime


def use_runtime(runtime: Runtime | None) -> None:
    """For local tools and tests: run the next invocations with this runtime (None: build from the environment)."""
    global _runtime
    _runtime = runtime


@logger.inject_lambda_context(clear_state=True)
@capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    trigger = parse_event(event)  # InvalidEvent: a clear error; the event goes to the failure destination
    logger.append_keys(trigger=trigger.source, execution_id=trigger.execution_id)
    try:
        runtime = _get_runtime()
        check_lease(runtime.settings, context.get_remaining_time_in_millis())
    except ConfigError as exc:  # nothing is lost: every request stays due until the settings are fixed
        logger.error("invalid configuration; no sweep", extra={"reason": str(exc)})
        record_systemic_failure()
        return {"stopped": f"configuration: {exc}"}
    owner = f"{context.aws_request_id}/{uuid.uuid4().hex[:8]}"
    summary = runtime.sweep(owner, context.get_remaining_time_in_millis).as_dict()
    record_sweep(summary)
    logger.info("sweep finished", extra={"summary": summary})
    return summary
