"""The Step Functions callback figures (issue 19) are watched like every other silent failure: each is on the
dashboard with the stack's dimension, callbacks that stay undelivered raise an alarm, and outcome events the bus
refuses land in the PublishFailures figure its alarm watches (docs/operations.md)."""

from __future__ import annotations

from typing import Any

import pytest

from profile_poller.entry.observability import NAMESPACE, SWEEP_METRICS
from tests.template.cfn import resources
from tests.template.test_dashboard import dashboard_metrics

CALLBACK_METRICS = {
    name for counter, (name, _) in SWEEP_METRICS.items() if "callback" in counter or "heartbeat" in counter
}
STACK_DIMENSIONS = [
    {"Name": "service", "Value": "profile-poller"},
    {"Name": "stack", "Value": {"Ref": "AWS::StackName"}},
]


@pytest.fixture
def alarms(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in resources(cfn, "AWS::CloudWatch::Alarm").items()}


def test_every_callback_figure_the_poller_emits_is_on_the_dashboard_for_this_stack(cfn: dict[str, Any]) -> None:
    assert {"CallbacksDelivered", "CallbacksRefused", "CallbackFailures", "HeartbeatsRefused"} <= CALLBACK_METRICS
    [dashboard] = resources(cfn, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    shown = {m[1]: m[2:6] for m in dashboard_metrics(body.replace("${AWS::StackName}", "STACK")) if m[0] == NAMESPACE}
    for name in CALLBACK_METRICS:
        assert shown.get(name) == ["service", "profile-poller", "stack", "STACK"], name


def test_callbacks_that_stay_undelivered_for_three_periods_raise_an_alarm(alarms: dict[str, dict[str, Any]]) -> None:
    # a throttled callback is retried by the next sweep: only a run of failures (AccessDenied, a lasting outage)
    # alarms, while the finished requests stay pending and their workflows wait
    [alarm] = [a for a in alarms.values() if a["MetricName"] == "CallbackFailures"]
    assert alarm["Namespace"] == NAMESPACE and alarm["Dimensions"] == STACK_DIMENSIONS
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        "Sum",
        300,
        3,
        3,
    )
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmsTopic"}]


def test_refused_outcome_events_are_counted_where_the_publish_failures_alarm_looks(
    alarms: dict[str, dict[str, Any]],
) -> None:
    # an outcome whose SNS message or event failed is one publish failure (AllDoors: tests/unit/test_outcome_doors.py)
    [alarm] = [a for a in alarms.values() if a["MetricName"] == "PublishFailures"]
    assert alarm["Namespace"] == NAMESPACE and alarm["Dimensions"] == STACK_DIMENSIONS
    assert "outcome bus" in alarm["AlarmDescription"]
    assert SWEEP_METRICS["publish_failures"][0] == "PublishFailures"
