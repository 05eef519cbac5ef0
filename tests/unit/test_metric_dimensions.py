"""Every figure the functions emit carries the stack it comes from (issue 18): `stack=<STACK_NAME>` beside
`service=profile-poller`, on every flush, so two stacks in one account and region never feed each other's alarms."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from profile_poller.entry.config import load_stack_name
from profile_poller.entry.observability import dimensions

ROOT = Path(__file__).resolve().parents[2]

EMIT = textwrap.dedent(
    """
    import json
    from profile_poller.entry.observability import metrics, record_registrations, record_sweep

    @metrics.log_metrics
    def sweep(event, context):
        record_sweep({"completed": 1, "oldest_pending_age_seconds": 5})

    @metrics.log_metrics
    def registrations(event, context):
        record_registrations({"registered": 2})

    sweep({}, None)
    registrations({}, None)
    """
)


def emitted(env: dict[str, str]) -> list[dict[str, object]]:
    """The EMF lines of two invocations in a fresh process (the dimension is fixed as the module is imported,
    which in Lambda is the cold start, with the function's environment)."""
    run = subprocess.run(
        [sys.executable, "-c", EMIT],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in run.stdout.splitlines() if '"_aws"' in line]


@pytest.mark.parametrize("stack", ["profile-poller", "profile-poller-staging"])
def test_every_flush_carries_the_stack_of_the_function_that_emitted_it(stack: str) -> None:
    # Given a function deployed by a stack (the template sets STACK_NAME to the stack's name)
    lines = emitted({"STACK_NAME": stack})
    # Then both invocations' figures name the service and that stack, as the alarms do
    assert len(lines) == 2
    for line in lines:
        [directive] = line["_aws"]["CloudWatchMetrics"]  # type: ignore[index]
        assert [sorted(d) for d in directive["Dimensions"]] == [["service", "stack"]]
        assert line["service"] == "profile-poller" and line["stack"] == stack
        assert {"service": line["service"], "stack": line["stack"]} == dimensions({"STACK_NAME": stack})


def test_without_a_stack_name_the_figures_still_have_one_dimension_set() -> None:
    [line, _] = emitted({})
    assert line["stack"] == "profile-poller" == load_stack_name({})
    assert load_stack_name({"STACK_NAME": "  "}) == "profile-poller"


def _figures(line: dict[str, object]) -> dict[str, tuple[object, object]]:
    """name -> (value, unit) of one EMF line (a value as the sum of its list, as CloudWatch reads it)."""
    [directive] = line["_aws"]["CloudWatchMetrics"]  # type: ignore[index]
    figures = {}
    for metric in directive["Metrics"]:
        value = line[metric["Name"]]
        figures[metric["Name"]] = (sum(value) if isinstance(value, list) else value, metric.get("Unit"))
    return figures


def test_a_sweep_emits_every_figure_zeros_included_in_its_unit() -> None:
    # Given a sweep that completed one request and saw its oldest pending request 5 s old (and nothing else)
    [sweep, _] = emitted({})
    figures = _figures(sweep)
    # Then every figure the alarms read is there: the one counted, the others as zeros, each in its unit
    assert figures["RequestsCompleted"] == (1, "Count") and figures["RequestsFailed"] == (0, "Count")
    assert figures["BytesArchived"] == (0, "Bytes") and figures["OldestPendingAgeSeconds"] == (5, "Seconds")
    assert {value for name, (value, _) in figures.items() if name != "OldestPendingAgeSeconds"} == {0, 1}


def test_a_registration_invocation_emits_every_result_zeros_included() -> None:
    # Given an invocation that registered two requests
    [_, registrations] = emitted({})
    # Then the four registration figures are there, as counts: two registered, no duplicate, rejection or deferral
    assert _figures(registrations) == {
        "RequestsRegistered": (2, "Count"),
        "DuplicateRegistrations": (0, "Count"),
        "RegistrationsRejected": (0, "Count"),
        "RegistrationsDeferred": (0, "Count"),
    }
