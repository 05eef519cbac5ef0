"""Two stacks side by side in one account (issue 18) never share an alarm or a chart: every alarm and widget on the
code's namespace names its own stack's metrics, as CloudFormation resolves them for each stack's name."""

from __future__ import annotations

import json
import re
from typing import Any

from profile_poller.entry.observability import METRIC_NAMES, NAMESPACE, dimensions
from tests.template.cfn import resources, translate


def resolve(node: Any, stack: str) -> Any:
    """Intrinsics as CloudFormation resolves them for a stack: its name, and a resource's physical name or
    attribute, which CloudFormation derives from the stack's name (`<stack>-<LogicalId>-<suffix>`)."""
    if isinstance(node, list):
        return [resolve(v, stack) for v in node]
    if not isinstance(node, dict):
        return node
    if node == {"Ref": "AWS::StackName"}:
        return stack
    if set(node) == {"Ref"}:
        return f"{stack}-{node['Ref']}"
    if set(node) == {"Fn::GetAtt"}:
        return f"{stack}-{node['Fn::GetAtt'][0]}"
    if set(node) == {"Fn::Sub"}:
        return re.sub(
            r"\$\{([^}]+)\}",
            lambda m: stack if m.group(1) == "AWS::StackName" else f"{stack}-{m.group(1).split('.')[0]}",
            node["Fn::Sub"],
        )
    return {k: resolve(v, stack) for k, v in node.items()}


Metric = tuple[str, str, frozenset[tuple[str, str]]]


def watched(stack: str) -> set[Metric]:
    """(namespace, metric, dimensions) of every alarm of the stack, as deployed under that name."""
    cfn = translate(stack_name=stack)
    found: set[Metric] = set()
    for alarm in resources(cfn, "AWS::CloudWatch::Alarm").values():
        props = resolve(alarm["Properties"], stack)
        dims = frozenset((d["Name"], d["Value"]) for d in props["Dimensions"])
        found.add((props["Namespace"], props["MetricName"], dims))
    return found


def charted(stack: str) -> set[Metric]:
    """The same for every metric of the stack's dashboard."""
    cfn = translate(stack_name=stack)
    [dashboard] = resources(cfn, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(resolve(dashboard["Properties"]["DashboardBody"], stack))
    found: set[Metric] = set()
    for widget in body["widgets"]:
        for metric in widget["properties"]["metrics"]:
            names = [m for m in metric if isinstance(m, str)]
            found.add((names[0], names[1], frozenset(zip(names[2::2], names[3::2], strict=True))))
    return found


def emitted(stack: str) -> set[Metric]:
    """What the code emits in a function deployed by this stack (its STACK_NAME as the template sets it)."""
    cfn = translate(stack_name=stack)
    for function in ("PollerFunction", "RegisterFunction"):
        variables = cfn["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["STACK_NAME"] == {"Ref": "AWS::StackName"}
    dims = frozenset(dimensions({"STACK_NAME": stack}).items())
    return {(NAMESPACE, name, dims) for name in METRIC_NAMES}


def test_two_stacks_in_one_account_never_watch_each_others_metrics() -> None:
    # Given production and staging deployed from the same template in one account and region
    prod, staging = "profile-poller", "profile-poller-staging"
    # Then no alarm or widget of one names a metric (namespace, name and dimensions) the other's alarms name
    assert watched(prod) & watched(staging) == set()
    assert charted(prod) & charted(staging) == set()
    # And every alarm and widget on the code's namespace watches what its own stack's functions emit, never the other's
    for stack, other in ((prod, staging), (staging, prod)):
        own = {m for m in watched(stack) | charted(stack) if m[0] == NAMESPACE}
        assert own and own <= emitted(stack)
        assert own & emitted(other) == set()


def test_a_stack_name_prefixing_another_does_not_capture_its_metrics() -> None:
    # "profile-poller" is a prefix of "profile-poller-staging": dimensions match whole values, names and all
    assert {m for m in watched("profile-poller") if m[0] == NAMESPACE}.isdisjoint(emitted("profile-poller-staging"))


def test_without_the_stack_dimension_two_stacks_would_share_alarms() -> None:
    # the check above can fail: with the service dimension alone (the old template) the sets meet
    def service_only(metrics: set[Metric]) -> set[Metric]:
        return {(ns, name, frozenset(d for d in dims if d[0] != "stack")) for ns, name, dims in metrics}

    assert service_only(watched("a")) & service_only(watched("b"))
