"""template.yaml: cfn-lint clean, and the SAM-translated template carries what the code and operators rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from local.stack import LocalStack
from local.template import load_template
from tests.template.cfn import ROOT, resources, statements

DESIGN_VARIABLES = {
    "TABLE_NAME",
    "BUCKET_NAME",
    "ARCHIVE_PREFIX",
    "TOPIC_ARN",
    "SECRET_ID",
    "API_BASE_URL",
    "FILE_HOSTS",
    "FILE_SOURCE",
    "ALLOW_PLAIN_HTTP",
    "CONCURRENCY",
    "RATE_LIMIT_PER_SECOND",
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_MAX_SECONDS",
    "BACKOFF_AGE_FRACTION",
    "STAY_UP_SECONDS",
    "MAX_AGE_SECONDS",
    "MAX_TRANSIENT_ERRORS",
    "LEASE_SECONDS",
    "TIME_MARGIN_SECONDS",
    "RETENTION_DAYS",
    "DUE_SHARDS",
}


def test_cfn_lint_passes() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_function_runtime_architecture_layer_and_schedule(cfn: dict[str, Any]) -> None:
    fn = cfn["Resources"]["PollerFunction"]["Properties"]
    assert fn["Runtime"] == "python3.13" and fn["Architectures"] == ["arm64"]
    assert fn["Handler"] == "app.lambda_handler"
    assert fn["TracingConfig"] == {"Mode": "Active"}
    assert fn["LoggingConfig"]["LogFormat"] == "JSON"
    [layer] = resources(cfn, "AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    sam = load_template(ROOT / "template.yaml")["Resources"]["SharedLayer"]["Metadata"]
    assert sam == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    # the layer's makefile builds for the function's runtime and architecture, and ships bytecode
    recipe = (ROOT / "layers/shared/Makefile").read_text()
    assert "build-SharedLayer:" in recipe
    assert "--python-version 3.13" in recipe and "--platform manylinux2014_aarch64" in recipe
    assert "--only-binary=:all:" in recipe and "--invalidation-mode unchecked-hash" in recipe
    [schedule] = resources(cfn, "AWS::Scheduler::Schedule").values()
    target = schedule["Properties"]["Target"]
    assert json.loads(target["Input"]) == json.loads((ROOT / "events/schedule.json").read_text())
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1 and "DeadLetterConfig" in target


def test_environment_has_exactly_the_design_names_resolving_to_the_stack(cfn: dict[str, Any]) -> None:
    env = cfn["Resources"]["PollerFunction"]["Properties"]["Environment"]["Variables"]
    assert set(env) >= DESIGN_VARIABLES
    assert set(env) - DESIGN_VARIABLES <= {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
        "MALLOC_MMAP_THRESHOLD_",  # read by glibc, not by config.py (docs/configuration.md)
        "STACK_NAME",  # the metrics' stack dimension
        "OUTCOME_BUS_NAME",  # issue 19: an addition to DESIGN §6's names
    }
    assert env["OUTCOME_BUS_NAME"] == {"Ref": "OutcomeBus"}
    assert env["TABLE_NAME"] == {"Ref": "RequestsTable"}
    assert env["BUCKET_NAME"] == {"Ref": "ArchiveBucket"}
    assert env["TOPIC_ARN"] == {"Ref": "OutcomesTopic"}
    assert env["SECRET_ID"] == {"Fn::If": ["CreateSecret", {"Ref": "ApiKeySecret"}, {"Ref": "ExistingSecretArn"}]}
    assert env["ALLOW_PLAIN_HTTP"] == "false" and env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"


def test_table_has_the_sparse_due_index_ttl_and_recovery(cfn: dict[str, Any]) -> None:
    table = cfn["Resources"]["RequestsTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "request_id", "KeyType": "HASH"}]
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "due"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["due_shard", "next_check_at"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_local_stack_matches_the_template_table(cfn: dict[str, Any], stack: LocalStack) -> None:
    """The table every local test runs against (local/stack.py, created in moto) is the template's table."""
    template = cfn["Resources"]["RequestsTable"]["Properties"]
    ddb = stack.client("dynamodb")
    local = ddb.describe_table(TableName=stack.table)["Table"]

    def attributes(definitions: list[dict[str, str]]) -> dict[str, str]:
        return {d["AttributeName"]: d["AttributeType"] for d in definitions}

    def indexes(gsis: list[dict[str, Any]]) -> dict[str, tuple[Any, Any]]:
        return {g["IndexName"]: (g["KeySchema"], g["Projection"]) for g in gsis}

    assert attributes(local["AttributeDefinitions"]) == attributes(template["AttributeDefinitions"])
    assert local["KeySchema"] == template["KeySchema"]
    assert indexes(local["GlobalSecondaryIndexes"]) == indexes(template["GlobalSecondaryIndexes"])
    assert local["BillingModeSummary"]["BillingMode"] == template["BillingMode"]
    ttl = ddb.describe_time_to_live(TableName=stack.table)["TimeToLiveDescription"]
    assert (ttl["AttributeName"], ttl["TimeToLiveStatus"] == "ENABLED") == (
        template["TimeToLiveSpecification"]["AttributeName"],
        template["TimeToLiveSpecification"]["Enabled"],
    )


def test_bucket_is_private_encrypted_and_owner_enforced(cfn: dict[str, Any]) -> None:
    bucket = cfn["Resources"]["ArchiveBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values()) and len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] in ("aws:kms", "AES256")


def test_iam_is_scoped_to_the_stack_resources(cfn: dict[str, Any]) -> None:
    by_sid = statements(cfn)
    assert by_sid["QueryDueIndex"]["Resource"] == {"Fn::Sub": "${RequestsTable.Arn}/index/due"}
    assert by_sid["ClaimAndSettle"]["Action"] == "dynamodb:UpdateItem"
    assert by_sid["ClaimAndSettle"]["Resource"] == {"Fn::GetAtt": ["RequestsTable", "Arn"]}
    assert set(by_sid["ArchiveFiles"]["Action"]) >= {"s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}
    assert by_sid["ArchiveFiles"]["Resource"] == {"Fn::Sub": "${ArchiveBucket.Arn}/${ArchivePrefix}/*"}
    assert by_sid["PublishOutcomes"] == {
        "Sid": "PublishOutcomes",
        "Effect": "Allow",
        "Action": "sns:Publish",
        "Resource": {"Ref": "OutcomesTopic"},
    }
    assert by_sid["ReadApiKey"]["Action"] == "secretsmanager:GetSecretValue"
    wildcard = [sid for sid, s in by_sid.items() if s["Resource"] == "*"]
    # X-Ray has no resource-level permissions; a task token cannot be scoped by IAM (issue 19)
    assert sorted(wildcard) == ["CallBackWaitingWorkflows", "Tracing"]
    assert sorted(by_sid["CallBackWaitingWorkflows"]["Action"]) == [
        "states:SendTaskFailure",
        "states:SendTaskHeartbeat",
        "states:SendTaskSuccess",
    ]
    assert by_sid["PutOutcomeEvents"]["Action"] == "events:PutEvents"
    assert by_sid["PutOutcomeEvents"]["Resource"] == {"Fn::GetAtt": ["OutcomeBus", "Arn"]}
    role = cfn["Resources"]["PollerRole"]["Properties"]
    assert "ManagedPolicyArns" not in role


def test_failures_have_somewhere_to_go(cfn: dict[str, Any]) -> None:
    [config] = resources(cfn, "AWS::Lambda::EventInvokeConfig").values()
    assert config["Properties"]["MaximumRetryAttempts"] == 0
    assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailureQueue", "Arn"]
    }
