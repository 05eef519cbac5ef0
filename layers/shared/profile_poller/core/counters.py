"""The names of what a sweep counts (`SweepSummary`, emitted as metrics by entry/observability.py).

A Literal, so a misspelt name is a type error (mypy --strict) rather than a count that silently never reaches a
metric.
"""

from __future__ import annotations

from typing import Literal, get_args

CounterName = Literal[
    "due_seen",
    "claimed",
    "lost_races",
    "leases_lost",
    "completed",
    "failed",
    "expired",
    "still_pending",
    "transient_errors",
    "throttled",
    "systemic",
    "not_started",
    "publish_failures",
    "errors",
    "bytes_archived",
    "files_not_archived",
    "files_archived",
    "archive_failures",
    "orphaned_due",
    "copies_out_of_time",
    "callbacks_delivered",
    "callbacks_refused",
    "callback_failures",
    "heartbeats",
    "heartbeats_refused",
    "heartbeats_skipped",
    "callbacks_undelivered",
    "outcomes_undelivered",
]
COUNTERS: tuple[CounterName, ...] = get_args(CounterName)
