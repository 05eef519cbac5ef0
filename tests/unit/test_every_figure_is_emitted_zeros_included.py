"""What a sweep and a registration invocation emit (entry/observability.py): every figure the alarms and the
dashboard read, on every invocation, zeros included, each in its unit (in this process; the dimensions of each
flush: test_metric_dimensions.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from profile_poller.entry.observability import metrics, record_registrations, record_sweep, record_systemic_failure


def flushed(record: Callable[[], None], capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[Any, Any]]:
    """name -> (value, unit) of the one EMF line an invocation that records this prints (values summed)."""

    @metrics.log_metrics
    def invocation(event: Any, context: Any) -> None:
        record()

    capsys.readouterr()
    invocation({}, None)
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines() if '"_aws"' in text]
    [directive] = line["_aws"]["CloudWatchMetrics"]
    figures = {}
    for metric in directive["Metrics"]:
        value = line[metric["Name"]]
        figures[metric["Name"]] = (sum(value) if isinstance(value, list) else value, metric.get("Unit"))
    return figures


def sweep(summary: Mapping[str, object]) -> Callable[[], None]:
    return lambda: record_sweep(summary)


def test_a_sweep_emits_every_figure_zeros_included_in_its_unit(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a sweep that completed one request, archived 2048 bytes and saw its oldest pending request 5 s old
    figures = flushed(sweep({"completed": 1, "bytes_archived": 2048, "oldest_pending_age_seconds": 5}), capsys)
    # Then every figure the alarms read is there: the ones counted, the others as zeros, each in its unit
    assert figures["RequestsCompleted"] == (1, "Count") and figures["RequestsFailed"] == (0, "Count")
    assert figures["BytesArchived"] == (2048, "Bytes") and figures["OldestPendingAgeSeconds"] == (5, "Seconds")
    assert sum(value for value, _ in figures.values()) == 1 + 2048 + 5
    assert "StatusCallRate" not in figures  # the sweep did not ask (another sweep held the tenant's lease)


def test_a_sweep_that_asked_emits_the_tenants_rate(capsys: pytest.CaptureFixture[str]) -> None:
    figures = flushed(sweep({"asking_rate_per_second": 2.5}), capsys)
    assert figures["StatusCallRate"] == (2.5, "Count/Second") and "OldestPendingAgeSeconds" not in figures


def test_a_registration_invocation_emits_every_result_zeros_included(capsys: pytest.CaptureFixture[str]) -> None:
    # Given an invocation that registered two requests and deferred one
    figures = flushed(lambda: record_registrations({"registered": 2, "deferred": 1}), capsys)
    # Then the four registration figures are there, as counts
    assert figures == {
        "RequestsRegistered": (2, "Count"),
        "DuplicateRegistrations": (0, "Count"),
        "RegistrationsRejected": (0, "Count"),
        "RegistrationsDeferred": (1, "Count"),
    }


def test_a_systemic_failure_is_one_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert flushed(record_systemic_failure, capsys) == {"SystemicFailures": (1, "Count")}
