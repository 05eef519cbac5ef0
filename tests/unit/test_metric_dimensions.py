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
