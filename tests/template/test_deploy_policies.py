"""Deployment traps (issue 12), the IAM policies: the producer and operator policies allow every call their code
makes (found by reading the CLI's source), and use the table key only through DynamoDB."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from tests.template.cfn import ROOT, resources

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
    # the grants (the Deny of the poller's own keys: tests/template/test_shared_account.py)
    by_service = {as_list(s["Action"])[0].split(":")[0]: s for s in statements if s["Effect"] == "Allow"}
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
