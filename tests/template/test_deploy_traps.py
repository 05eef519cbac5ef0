"""Deployment traps (issue 12): what only shows in a real account. Each test names the trap it closes."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

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


def accepts(spec: dict[str, Any], value: str) -> bool:
    """Whether CloudFormation lets `value` through the parameter's constraints (patterns are whole-value matches)."""
    if spec["Type"] == "Number":
        try:
            number = float(value)
        except ValueError:
            return False
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return False
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return False
    elif "AllowedPattern" in spec and re.fullmatch(spec["AllowedPattern"], value) is None:
        return False
    allowed = spec.get("AllowedValues")
    return allowed is None or value in {str(v) for v in allowed}


SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:campaign/api-key"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
REFUSED = {
    "ExistingSecretArn": [
        SECRET_ARN,  # partial: IAM would then deny GetSecretValue on the full ARN
        "campaign/api-key",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:",
        f"{SECRET_ARN}-AbC12",
    ],
    "ExistingSecretKmsKeyArn": [
        "alias/campaign",
        "arn:aws:kms:eu-west-1:123456789012:alias/campaign",
        KEY_ID,
        f"arn:aws:kms:eu-west-1:123456789012:key/{KEY_ID[:-1]}",
    ],
    "ReservedConcurrency": ["0", "-2", "2.5", "", "ten"],
    "AlarmEmail": [
        "ops",
        "ops@",
        "ops@example",
        "ops @example.com",
        "ops@example.com,dev@example.com",
        "<ops@example.com>",
    ],
}
ACCEPTED = {
    "ExistingSecretArn": [
        "",
        f"{SECRET_ARN}-AbC123",
        "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:k-x1Y2z3",
    ],
    "ExistingSecretKmsKeyArn": [
        "",
        f"arn:aws:kms:eu-west-1:123456789012:key/{KEY_ID}",
        "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    ],
    "ReservedConcurrency": ["-1", "1", "10", "1000"],
    "AlarmEmail": ["", "ops@example.com", "first.last+alerts@mail.example.co.uk"],
}


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in REFUSED.items() for v in values])
def test_parameter_refuses_a_value_that_breaks_the_deploy_or_the_runtime(
    cfn: dict[str, Any], name: str, value: str
) -> None:
    spec = cfn["Parameters"][name]
    assert not accepts(spec, value)
    assert spec.get("ConstraintDescription")  # the console and CLI say why, not just "malformed"


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in ACCEPTED.items() for v in values])
def test_parameter_accepts_a_good_value(cfn: dict[str, Any], name: str, value: str) -> None:
    assert accepts(cfn["Parameters"][name], value)


def test_every_parameter_default_passes_its_own_constraints(cfn: dict[str, Any]) -> None:
    for name, spec in cfn["Parameters"].items():
        assert accepts(spec, str(spec.get("Default", ""))), name


def test_reserved_concurrency_minus_one_means_unreserved(cfn: dict[str, Any]) -> None:
    assert cfn["Conditions"]["HasReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, "-1"]}]
    }


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
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "profile-poller"}]
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


PACKAGE = ROOT / "layers/shared/profile_poller"
# boto3 client methods the CLI may call, by service; the IAM action is the method in CamelCase
# (PublishBatch is authorised by sns:Publish)
SERVICE_OF_METHOD = {
    **dict.fromkeys(
        [
            "put_item",
            "get_item",
            "update_item",
            "delete_item",
            "query",
            "scan",
            "batch_get_item",
            "batch_write_item",
            "transact_get_items",
            "transact_write_items",
        ],
        "dynamodb",
    ),
    "publish": "sns",
    "publish_batch": "sns",
    "describe_stacks": "cloudformation",
    "put_events": "events",
    "send_message": "sqs",
    "send_message_batch": "sqs",
}
IAM_ACTION_OF_METHOD = {"publish_batch": "Publish", "send_message_batch": "SendMessage"}


def module_file(dotted: str) -> Path | None:
    """The file of a module of the profile_poller package (a module or a package's __init__)."""
    parts = dotted.split(".")
    if parts[0] != "profile_poller":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def dotted_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def cli_modules() -> set[Path]:
    """The CLI's entry module (pyproject's `profile-poller` script) and the package modules it imports, transitively."""
    script = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["profile-poller"]
    first = module_file(script.split(":")[0])
    assert first is not None, script
    seen: set[Path] = set()
    todo = [first]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        here = dotted_of(path).split(".")
        package = here if path.name == "__init__.py" else here[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                prefix = package[: len(package) - node.level + 1] if node.level else []
                base = ".".join([*prefix, *([node.module] if node.module else [])])
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            todo += [f for f in map(module_file, targets) if f is not None]
    return seen


def cli_actions() -> set[str]:
    """IAM actions for every AWS call the CLI's code makes (client methods and paginators)."""
    actions: set[str] = set()
    for path in cli_modules():
        source = path.read_text()
        methods = set(re.findall(r"\.(\w+)\(", source)) | set(re.findall(r"get_paginator\(\s*\"(\w+)\"", source))
        for method in methods & set(SERVICE_OF_METHOD):
            camel = IAM_ACTION_OF_METHOD.get(method, "".join(part.title() for part in method.split("_")))
            actions.add(f"{SERVICE_OF_METHOD[method]}:{camel}")
    return actions


def policy_statements(cfn: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    resource = cfn["Resources"][logical_id]
    assert resource["Type"] == "AWS::IAM::ManagedPolicy"
    assert "ManagedPolicyName" not in resource["Properties"]
    result: list[dict[str, Any]] = resource["Properties"]["PolicyDocument"]["Statement"]
    return result


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def via(statement: dict[str, Any]) -> list[Any]:
    return as_list(statement["Condition"]["StringEquals"]["kms:ViaService"])


def test_producer_policy_puts_items_and_uses_the_table_key_only_through_dynamodb(cfn: dict[str, Any]) -> None:
    statements = policy_statements(cfn, "ProducerPolicy")
    by_service = {as_list(s["Action"])[0].split(":")[0]: s for s in statements}
    assert set(by_service) == {"dynamodb", "kms", "events", "sqs"}
    assert as_list(by_service["dynamodb"]["Action"]) == ["dynamodb:PutItem"]  # never overwrite, never read
    assert by_service["dynamodb"]["Resource"] == {"Fn::GetAtt": ["RequestsTable", "Arn"]}
    key = by_service["kms"]
    assert set(key["Action"]) == {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}
    assert key["Resource"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert via(key) == [{"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"}]
    assert cfn["Outputs"]["ProducerPolicyArn"]["Value"] == {"Ref": "ProducerPolicy"}


def test_producer_policy_opens_every_registration_door(cfn: dict[str, Any]) -> None:
    # Given the ways in: the bus of each rule, and each queue a function consumes other than the failure queues
    buses = {r["Properties"]["EventBusName"]["Ref"] for r in resources(cfn, "AWS::Events::Rule").values()}
    queues = {
        m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for m in resources(cfn, "AWS::Lambda::EventSourceMapping").values()
    }
    assert buses and queues
    # Then the producer policy lets a producer put events on each bus and send to each queue, and nothing else
    grants = {
        (action, json.dumps(resource))
        for s in policy_statements(cfn, "ProducerPolicy")
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
        if action.split(":")[0] in ("events", "sqs")
    }
    assert grants == {("events:PutEvents", json.dumps({"Fn::GetAtt": [b, "Arn"]})) for b in buses} | {
        ("sqs:SendMessage", json.dumps({"Fn::GetAtt": [q, "Arn"]})) for q in queues
    }


def test_operators_can_read_every_queue_the_runbook_sends_them_to(cfn: dict[str, Any]) -> None:
    watched = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in resources(cfn, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    readable = {
        json.dumps(resource)
        for s in policy_statements(cfn, "OperatorPolicy")
        if "sqs:ReceiveMessage" in as_list(s["Action"]) and "sqs:DeleteMessage" in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }
    for queue in watched | {"RejectedRegistrationsQueue"}:
        assert json.dumps({"Fn::GetAtt": [queue, "Arn"]}) in readable, queue


def test_operator_policy_covers_every_aws_call_the_cli_makes(cfn: dict[str, Any]) -> None:
    # Given the AWS calls in the CLI's code (register's PutItem is the producer's)
    calls = cli_actions()
    assert {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"} <= calls  # the scan works
    operator = policy_statements(cfn, "OperatorPolicy")
    producer = policy_statements(cfn, "ProducerPolicy")
    # Then the operator policy (with the producer's for register) allows each of them, plus retry and republish
    assert calls <= allowed(operator) | allowed(producer)
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem", "sns:Publish"} <= allowed(
        operator
    )
    assert "dynamodb:PutItem" not in allowed(operator) and "dynamodb:DeleteItem" not in allowed(operator)
    resources_of = {
        a: s["Resource"] for s in operator for a in as_list(s["Action"]) if a.split(":")[0] in ("dynamodb", "sns")
    }
    assert resources_of["dynamodb:UpdateItem"] == {"Fn::GetAtt": ["RequestsTable", "Arn"]}
    assert resources_of["sns:Publish"] == {"Ref": "OutcomesTopic"}
    [key] = [s for s in operator if as_list(s["Action"])[0].startswith("kms:")]
    assert key["Resource"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert via(key) == [
        {"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"},
        {"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"},
    ]
    assert cfn["Outputs"]["OperatorPolicyArn"]["Value"] == {"Ref": "OperatorPolicy"}


def test_operators_can_republish_through_the_topic_policy_as_the_operator_role(cfn: dict[str, Any]) -> None:
    role = cfn["Resources"]["OperatorRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [{"Ref": "OperatorPolicy"}, {"Ref": "ProducerPolicy"}]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    topic = cfn["Resources"]["OutcomesTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [only] = [s for s in topic if s["Sid"] == "OnlyThePollerPublishes"]
    assert {"Fn::GetAtt": ["OperatorRole", "Arn"]} in only["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert cfn["Outputs"]["OperatorRoleArn"]["Value"] == {"Fn::GetAtt": ["OperatorRole", "Arn"]}


def test_the_cli_call_finder_sees_calls_and_paginators() -> None:
    assert "dynamodb:Scan" in cli_actions()  # from get_paginator("scan") in producer.py
    source = 'client.update_item(Key=k)\nsns.publish_batch(Entries=e)\nclient.get_paginator("query")\n'
    found = set(re.findall(r"\.(\w+)\(", source)) | set(re.findall(r"get_paginator\(\s*\"(\w+)\"", source))
    assert {"update_item", "publish_batch", "query"} <= found


def test_every_alarm_has_a_runbook_row_in_the_operations_docs(cfn: dict[str, Any]) -> None:
    # Given the Alarms table of docs/operations.md, the runbook (alarm, what it means, what to do)
    text = (ROOT / "docs/operations.md").read_text()
    table = text[text.index("## Alarms") :]
    # Then each alarm of the template has its row, so whoever is paged finds what to do
    missing = [a for a in resources(cfn, "AWS::CloudWatch::Alarm") if f"| `{a}`" not in table]
    assert missing == []
