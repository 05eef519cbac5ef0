"""The one module that owns the Powertools objects: JSON logger, EMF metrics, X-Ray tracer."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from ..core.log import SERVICE
from .config import load_stack_name

NAMESPACE = "ProfilePoller"
# Every figure carries the stack it comes from (docs/design-notes.md): two stacks in one account and region
# (staging beside production) then never feed each other's alarms. The template's alarms and widgets name both.
SERVICE_DIMENSION = "service"
STACK_DIMENSION = "stack"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
metrics.set_default_dimensions(**{STACK_DIMENSION: load_stack_name()})


def dimensions(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The dimension set of every metric the functions emit, for a function with this environment."""
    return {SERVICE_DIMENSION: SERVICE, STACK_DIMENSION: load_stack_name(env)}


@functools.cache
def tracer() -> Tracer:
    """Built on first use, not at import: Tracer() constructs the X-Ray recorder, whose sampler creates a
    botocore client (about 0.2 s), and patches boto3 and requests (clients made later are traced too)."""
    return Tracer(service=SERVICE)


Handler = Callable[[Any, Any], Any]


def capture_lambda_handler(handler: Handler) -> Handler:
    """Tracer.capture_lambda_handler with the Tracer built at the first invocation; responses not captured
    (they hold file URLs and counts nobody should find in a trace)."""
    traced: Handler | None = None

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        nonlocal traced
        if traced is None:
            traced = tracer().capture_lambda_handler(handler, capture_response=False)
        return traced(event, context)

    return wrapper


# The one place metric names are written. Alarms and the dashboard in template.yaml may name only these
# (tests/template checks it); rename one here and that test names every widget left pointing at the old name.
# summary counter -> (metric name, unit); every figure the alarms and dashboards rely on
SWEEP_METRICS: Mapping[str, tuple[str, MetricUnit]] = {
    "completed": ("RequestsCompleted", MetricUnit.Count),
    "failed": ("RequestsFailed", MetricUnit.Count),
    "expired": ("RequestsExpired", MetricUnit.Count),
    "claimed": ("RequestsChecked", MetricUnit.Count),
    "still_pending": ("StillPending", MetricUnit.Count),
    "throttled": ("Throttled", MetricUnit.Count),
    "systemic": ("SystemicFailures", MetricUnit.Count),
    "transient_errors": ("TransientErrors", MetricUnit.Count),
    "bytes_archived": ("BytesArchived", MetricUnit.Bytes),
    "files_not_archived": ("FilesNotArchived", MetricUnit.Count),
    "files_archived": ("FilesArchived", MetricUnit.Count),
    "lost_races": ("LostClaimRaces", MetricUnit.Count),
    "publish_failures": ("PublishFailures", MetricUnit.Count),
    "errors": ("UnexpectedErrors", MetricUnit.Count),
    "archive_failures": ("ArchiveFailures", MetricUnit.Count),
    "orphaned_due": ("OrphanedDueItems", MetricUnit.Count),
    "copies_out_of_time": ("CopiesOutOfTime", MetricUnit.Count),
    # issue 19: Step Functions callbacks of requests registered with a task token
    "callbacks_delivered": ("CallbacksDelivered", MetricUnit.Count),
    "callbacks_refused": ("CallbacksRefused", MetricUnit.Count),
    "callback_failures": ("CallbackFailures", MetricUnit.Count),
    "heartbeats_refused": ("HeartbeatsRefused", MetricUnit.Count),
    "heartbeats_skipped": ("HeartbeatsSkipped", MetricUnit.Count),
    # DELIVERY_RETRY_SECONDS ran out (core/callbacks.py): the request finished without this delivery (alarmed)
    "callbacks_undelivered": ("CallbacksUndelivered", MetricUnit.Count),
    "outcomes_undelivered": ("OutcomesUndelivered", MetricUnit.Count),
}
OLDEST_PENDING_AGE = "OldestPendingAgeSeconds"
ASKING_RATE = "StatusCallRate"  # the tenant's shared status-call rate (AIMD) when the sweep ended, calls a second
SYSTEMIC_FAILURES = "SystemicFailures"
# registration result -> metric name (the register function emits all of them every invocation, zeros included)
REGISTRATION_METRICS: Mapping[str, str] = {
    "registered": "RequestsRegistered",
    "duplicate": "DuplicateRegistrations",
    "rejected": "RegistrationsRejected",
    "deferred": "RegistrationsDeferred",
}
METRIC_NAMES: frozenset[str] = frozenset(
    {name for name, _ in SWEEP_METRICS.values()}
    | {OLDEST_PENDING_AGE, SYSTEMIC_FAILURES, ASKING_RATE}
    | set(REGISTRATION_METRICS.values())
)
"""Every metric name the code emits in the NAMESPACE namespace (dimensions: `dimensions()`)."""


def record_sweep(summary: Mapping[str, object]) -> None:
    """Turn a sweep summary into EMF metrics (always emitted, zeros included, so alarms see data)."""
    for counter, (name, unit) in SWEEP_METRICS.items():
        value = summary.get(counter, 0)
        metrics.add_metric(name=name, unit=unit, value=value if isinstance(value, int) else 0)
    age = summary.get("oldest_pending_age_seconds")
    if isinstance(age, int):
        metrics.add_metric(name=OLDEST_PENDING_AGE, unit=MetricUnit.Seconds, value=age)
    rate = summary.get("asking_rate_per_second")
    if isinstance(rate, int | float):  # absent when the sweep did not ask (another sweep held the lease)
        metrics.add_metric(name=ASKING_RATE, unit=MetricUnit.CountPerSecond, value=rate)


def record_systemic_failure() -> None:
    metrics.add_metric(name=SYSTEMIC_FAILURES, unit=MetricUnit.Count, value=1)


def record_registrations(counts: Mapping[str, int]) -> None:
    """One figure per registration result for this invocation (zeros included)."""
    for result, name in REGISTRATION_METRICS.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=counts.get(result, 0))
