"""Deployment traps (issue 12): what only shows in a real account. Each test names the trap it closes."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.template.cfn import ROOT, resources, translate

# Top-level properties that name a resource; none of them may be fixed, or a second stack in the same account and
# region collides with the first. Properties ending in "Name" that are not physical names are listed apart.
NOT_PHYSICAL_NAMES = {"DisplayName", "MetricName", "AttributeName", "IndexName", "PolicyName"}
SENTINEL_STACK = "stack-under-test-7f3a"

# Resource types that protect another resource: when that resource is retained, they must be retained with it.
PROTECTING_TYPES = {
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::Events::EventBusPolicy",
}


def references(node: Any) -> set[str]:
    """Logical ids a property value points at (Ref, GetAtt, ${X} or ${X.Attr} in a Sub)."""
    found: set[str] = set()
    if isinstance(node, list):
        for value in node:
            found |= references(value)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(value, list):
                    found |= references(value[1])
            else:
                found |= references(value)
    return found


def is_fixed_name(value: Any, resource_ids: set[str]) -> bool:
    """A name is fixed unless it is derived from the stack's name or points at a resource of the stack."""
    text = json.dumps(value)
    if SENTINEL_STACK in text or "AWS::StackName" in text:
        return False
    return not (references(value) & resource_ids)


def test_no_resource_has_a_fixed_physical_name() -> None:
    # Given the template translated for a stack with a distinctive name
    cfn = translate(stack_name=SENTINEL_STACK)
    ids = set(cfn["Resources"])
    # When every naming property of every resource is read
    fixed = {
        f"{logical_id}.{key}": value
        for logical_id, resource in cfn["Resources"].items()
        for key, value in resource.get("Properties", {}).items()
        if key.endswith("Name") and key not in NOT_PHYSICAL_NAMES and is_fixed_name(value, ids)
    }
    # And every export name (exports are unique per account and region too)
    fixed |= {
        f"Outputs.{name}.Export.Name": output["Export"]["Name"]
        for name, output in cfn.get("Outputs", {}).items()
        if "Export" in output and is_fixed_name(output["Export"]["Name"], ids)
    }
    # Then none is fixed: CloudFormation names it, or the name carries the stack's name
    assert fixed == {}
    [schedule] = resources(cfn, "AWS::Scheduler::Schedule").values()
    assert "Name" not in schedule["Properties"]  # OmitName: CloudFormation names the schedule


def test_the_fixed_name_check_catches_a_literal_and_spares_derived_names() -> None:
    ids = {"PollerFunction"}
    assert is_fixed_name("PollerFunctionSweep", ids)
    assert is_fixed_name({"Fn::Sub": "profile-poller-shared"}, ids)
    assert not is_fixed_name({"Fn::Sub": "${AWS::StackName}-shared"}, ids)
    assert not is_fixed_name({"Fn::Sub": f"{SENTINEL_STACK}-shared"}, ids)
    assert not is_fixed_name({"Ref": "PollerFunction"}, ids)  # a reference, not a name


def test_resources_protecting_a_retained_resource_are_retained_with_it(cfn: dict[str, Any]) -> None:
    # Given the resources kept on stack deletion (and on replacement)
    retained = {k for k, r in cfn["Resources"].items() if r.get("DeletionPolicy") == "Retain"}
    assert {"ArchiveBucket", "RequestsTable", "DataKey"} <= retained
    # When a policy resource protects one of them
    protectors = {
        k: r
        for k, r in cfn["Resources"].items()
        if r["Type"] in PROTECTING_TYPES and references(r.get("Properties", {})) & retained
    }
    assert "ArchiveBucketPolicy" in protectors
    # Then it stays with what it protects: a retained bucket keeps refusing plain HTTP
    for logical_id, resource in protectors.items():
        assert resource.get("DeletionPolicy") == "Retain", logical_id
        assert resource.get("UpdateReplacePolicy") == "Retain", logical_id


def alarms_by_metric(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["MetricName"]: r["Properties"] for r in resources(cfn, "AWS::CloudWatch::Alarm").values()}


def test_heartbeat_alarm_fires_when_no_sweep_runs_for_three_periods(cfn: dict[str, Any]) -> None:
    beat = alarms_by_metric(cfn)["Invocations"]
    assert beat["Namespace"] == "AWS/Lambda"
    assert beat["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "PollerFunction"}}]
    assert beat["Statistic"] == "Sum" and beat["ComparisonOperator"] == "LessThanThreshold" and beat["Threshold"] == 1
    assert beat["EvaluationPeriods"] == 3 and beat["DatapointsToAlarm"] == 3
    assert beat["TreatMissingData"] == "breaching"  # no invocation publishes no data point: silence must alarm
    assert beat["Period"] == {"Ref": "HeartbeatPeriodSeconds"}
    periods = cfn["Parameters"]["HeartbeatPeriodSeconds"]
    assert periods["Default"] == 300 and all(p % 60 == 0 for p in periods["AllowedValues"])
    assert beat["AlarmActions"] == [{"Ref": "AlarmsTopic"}] and beat["OKActions"] == [{"Ref": "AlarmsTopic"}]


def test_publish_failures_alarm_watches_the_metric_the_code_emits(cfn: dict[str, Any]) -> None:
    from profile_poller.entry.observability import METRIC_NAMES

    alarm = alarms_by_metric(cfn)["PublishFailures"]
    assert "PublishFailures" in METRIC_NAMES
    assert (
        alarm["Namespace"]
        == cfn["Resources"]["PollerFunction"]["Properties"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    )
    assert alarm["Dimensions"] == [
        {"Name": "service", "Value": "profile-poller"},
        {"Name": "stack", "Value": {"Ref": "AWS::StackName"}},
    ]
    assert alarm["Statistic"] == "Sum" and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0 and alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmsTopic"}]


def test_system_log_level_keeps_the_report_lines(cfn: dict[str, Any]) -> None:
    # REPORT (duration, billed duration, max memory used) is a platform log at INFO: WARN would drop it
    functions = resources(cfn, "AWS::Lambda::Function")
    assert "PollerFunction" in functions
    for logical_id, function in functions.items():
        assert function["Properties"]["LoggingConfig"]["SystemLogLevel"] in ("INFO", "DEBUG"), logical_id


def schema_properties(resource_type: str, key: str) -> set[str]:
    """Top-level property names the CloudFormation resource schema (as cfn-lint ships it) lists under `key`."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    return {path.split("/")[2] for path in schema.get(key, [])}


def test_no_template_edit_can_overwrite_the_secret_put_in_by_hand(cfn: dict[str, Any]) -> None:
    secret = cfn["Resources"]["ApiKeySecret"]
    set_properties = set(secret["Properties"])
    # Given the properties that carry the secret's value (SecretString, GenerateSecretString: write-only, and a
    # change to either writes a new version over the current one)
    value_bearing = schema_properties("AWS::SecretsManager::Secret", "writeOnlyProperties")
    assert {"SecretString", "GenerateSecretString"} <= value_bearing
    # Then the stack sets none of them: it creates the secret empty, and the key is put in by hand
    assert not set_properties & value_bearing
    # And nothing that would replace it is set, and a replacement or removal keeps the old secret anyway
    assert not set_properties & schema_properties("AWS::SecretsManager::Secret", "createOnlyProperties")
    assert secret["DeletionPolicy"] == "Retain" and secret["UpdateReplacePolicy"] == "Retain"
    assert secret["Properties"]["KmsKeyId"] == {"Ref": "DataKey"}


def test_every_alarm_has_a_runbook_row_in_the_operations_docs(cfn: dict[str, Any]) -> None:
    # Given the Alarms table of docs/operations.md, the runbook (alarm, what it means, what to do)
    text = (ROOT / "docs/operations.md").read_text()
    table = text[text.index("## Alarms") :]
    # Then each alarm of the template has its row, so whoever is paged finds what to do
    missing = [a for a in resources(cfn, "AWS::CloudWatch::Alarm") if f"| `{a}`" not in table]
    assert missing == []
