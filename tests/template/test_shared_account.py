"""A team running this in a shared account (issue 18): conditions moto cannot evaluate are in the policies, the async
paths have bounds, and `sam deploy` can deploy a template this large. Two stacks side by side never share an alarm:
test_stacks_side_by_side.py."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

from local.template import load_template
from profile_poller.adapters.dynamo_items import ASKING_KEY
from profile_poller.core.registration import Rejected, parse_submission
from tests.template.cfn import ROOT

INLINE_TEMPLATE_LIMIT = 51_200  # CloudFormation's TemplateBody limit; a template in S3 may be 1 MB


def statements_of(cfn: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, statement) for every statement of every role's inline policies and every managed policy."""
    found: list[tuple[str, dict[str, Any]]] = []
    for logical_id, resource in cfn["Resources"].items():
        props = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            documents.append(props["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                if isinstance(statement, dict) and "Fn::If" in statement:  # an optional statement: both branches
                    found += [(logical_id, s) for s in statement["Fn::If"][1:] if isinstance(s, dict) and "Effect" in s]
                elif isinstance(statement, dict):
                    found.append((logical_id, statement))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_every_kms_grant_of_every_role_and_policy_is_scoped_to_the_services_that_use_the_key(
    cfn: dict[str, Any],
) -> None:
    # moto's IAM evaluates no condition key (it does not call KMS for a table either), so this is checked here:
    # a KMS grant without kms:ViaService lets the role decrypt the table's, bucket's and topic's data keys directly
    grants = [
        (where, s)
        for where, s in statements_of(cfn)
        if s["Effect"] == "Allow" and any(a.startswith("kms:") for a in as_list(s["Action"]))
    ]
    assert {where for where, _ in grants} == {"PollerRole", "RegisterRole", "ProducerPolicy", "OperatorPolicy"}
    for where, statement in grants:
        services = as_list(statement.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService"))
        assert services, f"{where}: {statement.get('Sid')} has no kms:ViaService"
        names = {re.sub(r"\.\$\{AWS::Region\}\.amazonaws\.com$", "", s["Fn::Sub"]) for s in services}
        assert names <= {"dynamodb", "s3", "sns", "secretsmanager"}, where
    register = [s for where, s in grants if where == "RegisterRole"]
    assert [as_list(s["Condition"]["StringEquals"]["kms:ViaService"]) for s in register] == [
        [{"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"}]
    ]


def test_producers_are_denied_every_key_of_the_poller_whatever_they_send(cfn: dict[str, Any]) -> None:
    # moto's IAM cannot evaluate dynamodb:LeadingKeys (it would apply the deny to every put), so this is checked here
    [deny] = [s for where, s in statements_of(cfn) if where == "ProducerPolicy" and s["Effect"] == "Deny"]
    assert as_list(deny["Action"]) == ["dynamodb:PutItem"]
    assert deny["Resource"] == {"Fn::GetAtt": ["RequestsTable", "Arn"]}
    # ForAnyValue: the put's one partition key value matches "#*"
    assert deny["Condition"] == {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["#*"]}}
    # Given the keys the poller owns (the tenant's asking lease) and what a producer may register
    assert ASKING_KEY.startswith("#")
    # Then no valid request-id is denied: registration refuses an id starting with # anyway
    with pytest.raises(Rejected):
        parse_submission(json.dumps({"request_id": ASKING_KEY, "kind": "get"}))
    # And the producer may read nothing (the helper's retry path needs no read: ReturnValuesOnConditionCheckFailure)
    granted = {
        a
        for where, s in statements_of(cfn)
        if where == "ProducerPolicy" and s["Effect"] == "Allow"
        for a in as_list(s["Action"])
    }
    assert not {a for a in granted if a.startswith("dynamodb:")} - {"dynamodb:PutItem"}


def test_the_data_key_lets_no_service_use_it_for_another_topic_and_register_changes_no_visibility(
    cfn: dict[str, Any],
) -> None:
    key = cfn["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert not [s for s in key if "sns.amazonaws.com" in json.dumps(s.get("Principal", {}))]
    actions = {a for where, s in statements_of(cfn) if where == "RegisterRole" for a in as_list(s["Action"])}
    assert "sqs:ChangeMessageVisibility" not in actions  # neither the code nor the event source mapping calls it
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} <= actions


def test_sweeps_throttled_past_the_schedule_are_dropped_and_registrations_cannot_starve_the_poller() -> None:
    raw = load_template(ROOT / "template.yaml")
    poller = raw["Resources"]["PollerFunction"]["Properties"]
    assert poller["EventInvokeConfig"]["MaximumEventAgeInSeconds"] == {"Ref": "HeartbeatPeriodSeconds"}
    assert max(raw["Parameters"]["HeartbeatPeriodSeconds"]["AllowedValues"]) <= 3600  # not 6 hours
    register = raw["Resources"]["RegisterFunction"]["Properties"]
    source = register["Events"]["Registrations"]["Properties"]
    assert source["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "RegisterMaximumConcurrency"}}
    assert raw["Parameters"]["RegisterMaximumConcurrency"]["MinValue"] == 2  # Lambda's minimum
    # Lambda's advice for an SQS source: visibility at least six times the timeout plus the batching window
    visibility = raw["Resources"]["RegistrationQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * register["Timeout"] + source["MaximumBatchingWindowInSeconds"]
    skips = raw["Resources"]["RegisterFunction"]["Metadata"]["checkov"]["skip"]
    [reserved] = [s for s in skips if s["id"] == "CKV_AWS_115"]
    assert "MaximumConcurrency" in reserved["comment"]  # a capacity reason, which now holds


class RuleEvaluator:
    """CloudFormation's Rules functions (Fn::And/Or/Not/Equals/Contains) over parameter values."""

    def __init__(self, parameters: dict[str, str]) -> None:
        self.parameters = parameters

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(v) for v in node]
        if not isinstance(node, dict):
            return str(node)
        [(fn, arg)] = node.items()
        if fn == "Ref":
            return self.parameters[arg]
        if fn == "Fn::Or":
            return any(self(a) for a in arg)
        if fn == "Fn::And":
            return all(self(a) for a in arg)
        if fn == "Fn::Not":
            return not self(arg[0])
        if fn == "Fn::Equals":
            return self(arg[0]) == self(arg[1])
        if fn == "Fn::Contains":
            return self(arg[1]) in self(arg[0])
        raise AssertionError(f"not a rule function: {fn}")


def accepted(schedule: str, heartbeat: int) -> bool:
    raw = load_template(ROOT / "template.yaml")
    evaluate = RuleEvaluator({"ScheduleExpression": schedule, "HeartbeatPeriodSeconds": str(heartbeat)})
    return all(evaluate(a["Assert"]) for rule in raw["Rules"].values() for a in rule["Assertions"])


SCHEDULES = {
    "rate(1 minute)": 60,
    "rate(5 minutes)": 300,
    "rate(10 minutes)": 600,
    "rate(15 minutes)": 900,
    "rate(30 minutes)": 1800,
    "rate(1 hour)": 3600,
    "rate(60 minutes)": 3600,
}


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
def test_the_heartbeat_period_must_cover_the_schedules_interval(schedule: str) -> None:
    raw = load_template(ROOT / "template.yaml")
    for heartbeat in raw["Parameters"]["HeartbeatPeriodSeconds"]["AllowedValues"]:
        assert accepted(schedule, int(heartbeat)) == (int(heartbeat) >= SCHEDULES[schedule]), (schedule, heartbeat)


def test_the_defaults_pass_the_rules_and_a_cron_schedule_is_left_to_the_operator() -> None:
    raw = load_template(ROOT / "template.yaml")
    defaults = raw["Parameters"]
    assert accepted(defaults["ScheduleExpression"]["Default"], int(defaults["HeartbeatPeriodSeconds"]["Default"]))
    assert accepted("cron(0/5 * * * ? *)", 300)


def test_archive_versions_are_kept_years_and_object_lock_is_an_option_in_governance_mode() -> None:
    raw = load_template(ROOT / "template.yaml")
    assert raw["Parameters"]["ArchiveNoncurrentDays"]["Default"] >= 365 * 7
    assert raw["Parameters"]["ArchiveLockDays"]["Default"] == 0  # off unless asked for
    bucket = raw["Resources"]["ArchiveBucket"]["Properties"]
    assert bucket["ObjectLockEnabled"] == {"Fn::If": ["LockArchives", True, {"Ref": "AWS::NoValue"}]}
    lock = bucket["ObjectLockConfiguration"]["Fn::If"]
    assert lock[0] == "LockArchives" and lock[2] == {"Ref": "AWS::NoValue"}
    assert lock[1]["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": {"Ref": "ArchiveLockDays"}}
    assert raw["Conditions"]["LockArchives"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ArchiveLockDays"}, 0]}]}
    # turning it on later updates the retained bucket in place: no property it sets forces a replacement
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::S3::Bucket").schema
    create_only = {path.split("/")[2] for path in schema.get("createOnlyProperties", [])}
    assert not create_only & {"ObjectLockEnabled", "ObjectLockConfiguration"}


def deploy_uploads_the_template(samconfig: dict[str, Any], env: str = "default") -> bool:
    """Whether `sam deploy` with this samconfig sends the template through S3 (resolve_s3 or a named bucket)."""
    deploy = samconfig.get(env, {}).get("deploy", {}).get("parameters", {})
    return deploy.get("resolve_s3") is True or bool(deploy.get("s3_bucket"))


def test_a_template_over_the_inline_limit_is_deployed_through_s3() -> None:
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text())
    size = len((ROOT / "template.yaml").read_bytes())
    assert size <= INLINE_TEMPLATE_LIMIT or deploy_uploads_the_template(samconfig), (
        f"template.yaml is {size} bytes, over CloudFormation's {INLINE_TEMPLATE_LIMIT} for an inline body, and "
        "samconfig.toml neither sets resolve_s3 = true nor names an s3_bucket for sam deploy"
    )


def test_the_upload_check_tells_a_samconfig_that_would_send_the_template_inline() -> None:
    assert not deploy_uploads_the_template({"default": {"deploy": {"parameters": {"confirm_changeset": True}}}})
    assert deploy_uploads_the_template({"default": {"deploy": {"parameters": {"s3_bucket": "artifacts"}}}})
    assert deploy_uploads_the_template({"default": {"deploy": {"parameters": {"resolve_s3": True}}}})


def test_the_deploy_docs_no_longer_advise_unprotecting_the_retained_table() -> None:
    text = (ROOT / "docs/deploy.md").read_text()
    assert "TableDeletionProtection=false" not in text
    assert "before tearing down" not in json.dumps(load_template(ROOT / "template.yaml")["Parameters"])


def test_the_event_producer_policy_opens_the_event_doors_and_nothing_else(cfn: dict[str, Any]) -> None:
    # moto checks the actions (tests/integration/test_iam_policies.py); the resources are checked here
    grants = {
        (action, json.dumps(s["Resource"]))
        for where, s in statements_of(cfn)
        if where == "EventProducerPolicy"
        for action in as_list(s["Action"])
        if s["Effect"] == "Allow"
    }
    assert grants == {
        ("events:PutEvents", json.dumps({"Fn::GetAtt": ["RegistrationBus", "Arn"]})),
        ("sqs:SendMessage", json.dumps({"Fn::GetAtt": ["RegistrationQueue", "Arn"]})),
    }
    assert cfn["Outputs"]["EventProducerPolicyArn"]["Value"] == {"Ref": "EventProducerPolicy"}
