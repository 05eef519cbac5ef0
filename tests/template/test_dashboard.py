"""The dashboard and the alarms name only metrics the code emits (entry/observability.py METRIC_NAMES), so a renamed
metric cannot leave a dead widget or a silent alarm; and the dashboard shows what an operator looks at."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from profile_poller.entry.observability import METRIC_NAMES, NAMESPACE
from tests.template.cfn import resources

SERVICE_DIMENSION = ["service", "profile-poller"]
# what the dashboard must show (issue 9): outcomes, checks, throttles, transient and systemic failures, oldest
# pending age, files archived, registrations and rejects
REQUIRED_OWN = {
    "RequestsCompleted",
    "RequestsFailed",
    "RequestsExpired",
    "RequestsChecked",
    "Throttled",
    "TransientErrors",
    "SystemicFailures",
    "OldestPendingAgeSeconds",
    "FilesArchived",
    "RequestsRegistered",
    "RegistrationsRejected",
}


def dashboard_metrics(body: str) -> list[list[Any]]:
    """Every metric array of the dashboard body (the ${...} of the Sub replaced by a placeholder)."""
    data = json.loads(re.sub(r"\$\{[^}]+\}", "PLACEHOLDER", body))
    return [m for widget in data["widgets"] for m in widget.get("properties", {}).get("metrics", [])]


def unknown_names(metrics: list[list[Any]]) -> list[str]:
    return [m[1] for m in metrics if m[0] == NAMESPACE and m[1] not in METRIC_NAMES]


@pytest.fixture
def body(cfn: dict[str, Any]) -> str:
    [dashboard] = resources(cfn, "AWS::CloudWatch::Dashboard").values()
    text: str = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    return text


def test_every_dashboard_metric_of_ours_is_one_the_code_emits_with_its_dimension(body: str) -> None:
    metrics = dashboard_metrics(body)
    assert unknown_names(metrics) == []
    own = [m for m in metrics if m[0] == NAMESPACE]
    assert all(m[2:4] == SERVICE_DIMENSION for m in own)  # Powertools adds service=<POWERTOOLS_SERVICE_NAME>
    assert all(m[4:6] == ["stack", "PLACEHOLDER"] for m in own)  # ${AWS::StackName}: the code's stack dimension
    assert {m[1] for m in own} >= REQUIRED_OWN


def test_every_alarm_on_our_namespace_names_an_emitted_metric(cfn: dict[str, Any]) -> None:
    alarms = [a["Properties"] for a in resources(cfn, "AWS::CloudWatch::Alarm").values()]
    own = [a for a in alarms if a["Namespace"] == NAMESPACE]
    assert own, "the alarms on the code's metrics"
    assert [a["MetricName"] for a in own if a["MetricName"] not in METRIC_NAMES] == []
    stack = {"Name": "stack", "Value": {"Ref": "AWS::StackName"}}  # two stacks never share an alarm
    assert all(a["Dimensions"] == [{"Name": "service", "Value": "profile-poller"}, stack] for a in own)


def test_the_dashboard_shows_duration_function_errors_and_every_queue(body: str, cfn: dict[str, Any]) -> None:
    metrics = dashboard_metrics(body)
    lambda_metrics = {(m[1], m[3]) for m in metrics if m[0] == "AWS/Lambda"}
    assert ("Duration", "PLACEHOLDER") in lambda_metrics and ("Errors", "PLACEHOLDER") in lambda_metrics
    queues = set(re.findall(r"\$\{(\w+)\.QueueName\}", body))
    assert queues == set(resources(cfn, "AWS::SQS::Queue"))  # every queue's depth is on it
    assert set(re.findall(r"\$\{(\w+Function)\}", body)) == {"PollerFunction", "RegisterFunction"}


def test_a_renamed_metric_is_caught() -> None:
    renamed = [[NAMESPACE, "RequestsCompletedTotal", *SERVICE_DIMENSION], ["AWS/Lambda", "Errors", "FunctionName", "x"]]
    assert unknown_names(renamed) == ["RequestsCompletedTotal"]
