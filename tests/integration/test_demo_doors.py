"""What `make demo` shows of issue 19 (local/demo_workflow.py): a workflow waiting on its task token and then
continuing with the outcome, and a rule on the outcome bus receiving the failed outcomes' events."""

from __future__ import annotations

import pytest

from local.demo_workflow import outcome_rule, print_outcome_events, workflow_demo
from local.simulator import Simulator, Step
from local.stack import LocalStack
from local.workflow import OUTCOME_BUS
from profile_poller.entry.config import load_settings
from profile_poller.entry.runtime import Runtime
from tests.conftest import API_KEY
from tests.integration.test_registration import load_function


def test_the_demo_shows_a_workflow_waiting_then_continuing(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    workflow_demo(sim, API_KEY, load_function())
    out = capsys.readouterr().out
    assert out.count("RUNNING   waiting on its task token") == 2
    assert "wf-demo-update   SUCCEEDED continued with the outcome -> Completed" in out
    assert '"update_count": 12' in out
    assert "wf-demo-get      SUCCEEDED Catch ProfileRequestFailed -> RequestFailed" in out


def test_the_demo_rule_receives_the_failed_outcome_events(
    stack: LocalStack, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    url = outcome_rule(stack)
    stack.client("dynamodb").put_item(
        TableName=stack.table,
        Item={
            "request_id": {"S": "demo-bad"},
            "status": {"S": "PENDING"},
            "due_shard": {"S": "0"},
            "next_check_at": {"N": "0"},
        },
    )
    sim.script("demo-bad", Step.error(200, 3005, "Invalid Profile ID"))
    settings = load_settings(stack.function_env(sim.base_url, OUTCOME_BUS_NAME=OUTCOME_BUS))
    Runtime.build(settings).sweep("demo-events", lambda: 600_000)
    print_outcome_events(stack, url)
    out = capsys.readouterr().out
    assert "1 event(s)" in out and "demo-bad:FAILED  api_code=3005" in out
