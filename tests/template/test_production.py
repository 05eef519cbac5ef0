"""Production properties of the stack (issue: production-grade template). Each assertion names one property a
reviewer relies on, so removing it from template.yaml fails a test."""

from __future__ import annotations

from typing import Any

from tests.template.cfn import resources, statements

TLS_DENY = {"Bool": {"aws:SecureTransport": "false"}}


def props(cfn: dict[str, Any], logical_id: str) -> dict[str, Any]:
    result: dict[str, Any] = cfn["Resources"][logical_id]["Properties"]
    return result


def denies_insecure_transport(policy: dict[str, Any]) -> bool:
    return any(s["Effect"] == "Deny" and s.get("Condition") == TLS_DENY for s in policy["Statement"])


def test_table_on_demand_encrypted_recoverable_and_protected(cfn: dict[str, Any]) -> None:
    table = props(cfn, "RequestsTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"]["SSEEnabled"] is True
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"]["AttributeName"] == "expires_at"
    assert table["DeletionProtectionEnabled"] == {"Ref": "TableDeletionProtection"}
    assert cfn["Parameters"]["TableDeletionProtection"]["Default"] == "true"
    assert cfn["Resources"]["RequestsTable"]["DeletionPolicy"] == "Retain"


def test_bucket_versioned_with_lifecycle_and_tls_only(cfn: dict[str, Any]) -> None:
    bucket = props(cfn, "ArchiveBucket")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules["expire-archives"]["Status"] == {"Fn::If": ["ExpireArchives", "Enabled", "Disabled"]}
    assert rules["expire-archives"]["ExpirationInDays"]["Fn::If"][1] == {"Ref": "ArchiveExpirationDays"}
    noncurrent = rules["drop-superseded-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"]
    assert noncurrent == {"Ref": "ArchiveNoncurrentDays"}
    assert cfn["Parameters"]["ArchiveNoncurrentDays"]["Default"] >= 2555  # years: audit evidence (issue 18)
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["BucketKeyEnabled"] is True
    policy = props(cfn, "ArchiveBucketPolicy")
    assert policy["Bucket"] == {"Ref": "ArchiveBucket"} and denies_insecure_transport(policy["PolicyDocument"])


def test_outcomes_topic_encrypted_and_only_the_poller_publishes(cfn: dict[str, Any]) -> None:
    assert props(cfn, "OutcomesTopic")["KmsMasterKeyId"] == {"Ref": "DataKey"}
    policy = props(cfn, "OutcomesTopicPolicy")["PolicyDocument"]
    assert denies_insecure_transport(policy)
    [only] = [s for s in policy["Statement"] if s["Sid"] == "OnlyThePollerPublishes"]
    assert only["Effect"] == "Deny" and only["Action"] == "sns:Publish"
    allowed = only["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert {"Fn::GetAtt": ["PollerRole", "Arn"]} in allowed and len(allowed) == 3
    assert {"Fn::GetAtt": ["OperatorRole", "Arn"]} in allowed  # the CLI's republish


def test_kms_key_rotates_and_lets_cloudwatch_but_no_other_service_use_it(cfn: dict[str, Any]) -> None:
    key = props(cfn, "DataKey")
    assert key["EnableKeyRotation"] is True
    services = {s["Principal"].get("Service") for s in key["KeyPolicy"]["Statement"]} - {None}
    assert services == {"cloudwatch.amazonaws.com"}  # SNS may not use it for any topic of the account (issue 18)


def test_secret_is_kms_encrypted_created_or_passed_in_never_a_real_value(cfn: dict[str, Any]) -> None:
    secret = cfn["Resources"]["ApiKeySecret"]
    assert secret["Condition"] == "CreateSecret"
    assert secret["Properties"]["KmsKeyId"] == {"Ref": "DataKey"}
    assert "SecretString" not in secret["Properties"]  # a generated placeholder, never a value in the template
    assert cfn["Conditions"]["CreateSecret"] == {"Fn::Equals": [{"Ref": "ExistingSecretArn"}, ""]}
    assert statements(cfn)["ReadApiKey"]["Resource"] == {
        "Fn::If": ["CreateSecret", {"Ref": "ApiKeySecret"}, {"Ref": "ExistingSecretArn"}]
    }


def test_schedule_retries_and_has_a_dead_letter_queue(cfn: dict[str, Any]) -> None:
    [schedule] = resources(cfn, "AWS::Scheduler::Schedule").values()
    target = schedule["Properties"]["Target"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 300}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}}


def test_function_logging_tracing_limits_and_optional_reserved_concurrency(cfn: dict[str, Any]) -> None:
    fn = props(cfn, "PollerFunction")
    assert fn["TracingConfig"] == {"Mode": "Active"}
    assert fn["LoggingConfig"]["LogFormat"] == "JSON" and fn["LoggingConfig"]["LogGroup"] == {"Ref": "PollerLogGroup"}
    assert props(cfn, "PollerLogGroup")["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert fn["Timeout"] == {"Ref": "FunctionTimeout"} and fn["MemorySize"] == {"Ref": "FunctionMemory"}
    assert fn["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert cfn["Parameters"]["ReservedConcurrency"]["Default"] == "-1"  # off by default
    lease = cfn["Parameters"]["LeaseSeconds"]["Default"]
    assert lease >= cfn["Parameters"]["FunctionTimeout"]["Default"]  # a dead sweep's claims come back


def test_only_xray_has_a_wildcard_and_kms_is_scoped_to_the_data_key(cfn: dict[str, Any]) -> None:
    by_sid = statements(cfn)
    assert by_sid["UseDataKey"]["Resource"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert by_sid["Logs"]["Resource"] == {"Fn::GetAtt": ["PollerLogGroup", "Arn"]}
    assert by_sid["FailureDestination"]["Resource"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    assert set(by_sid["Tracing"]["Action"]) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    assert all(not str(s["Action"]).endswith("*") for s in by_sid.values())


def test_alarms_watch_errors_queues_systemic_failures_files_not_archived_and_the_oldest_pending(
    cfn: dict[str, Any],
) -> None:
    alarms = {p["Properties"]["MetricName"]: p["Properties"] for p in resources(cfn, "AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == {
        "Errors",
        "ApproximateNumberOfMessagesVisible",
        "SystemicFailures",
        "FilesNotArchived",
        "OldestPendingAgeSeconds",
        "Invocations",
        "PublishFailures",
        "CallbackFailures",
        "CallbacksUndelivered",
        "OutcomesUndelivered",
        "RegistrationsRejected",
        "ArchiveFailures",
        "CopiesOutOfTime",
        "UnexpectedErrors",
        "ApproximateAgeOfOldestMessage",
        "Throttles",
    }
    queues = [
        a["Dimensions"][0]["Value"]
        for a in resources(cfn, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        for a in [a["Properties"]]
    ]
    assert {"Fn::GetAtt": ["FailureQueue", "QueueName"]} in queues
    assert {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "QueueName"]} in queues
    assert {"Fn::GetAtt": ["RegistrationDeadLetterQueue", "QueueName"]} in queues
    for name in (
        "SystemicFailures",
        "FilesNotArchived",
        "OldestPendingAgeSeconds",
        "RegistrationsRejected",
        "ArchiveFailures",
        "CopiesOutOfTime",
        "UnexpectedErrors",
        "CallbackFailures",
    ):  # emitted by observability.py with these dims
        assert alarms[name]["Namespace"] == "ProfilePoller"
        assert alarms[name]["Dimensions"] == [
            {"Name": "service", "Value": "profile-poller"},
            {"Name": "stack", "Value": {"Ref": "AWS::StackName"}},
        ]
    assert alarms["OldestPendingAgeSeconds"]["Threshold"] == {"Ref": "OldestPendingAlarmSeconds"}
    # a copy that fails once is retried with backoff: these two alarm only when it persists for three periods
    for name in ("ArchiveFailures", "CopiesOutOfTime", "CallbackFailures"):
        assert (alarms[name]["EvaluationPeriods"], alarms[name]["DatapointsToAlarm"], alarms[name]["Period"]) == (
            3,
            3,
            300,
        )
    assert all(
        a["AlarmActions"] == [{"Ref": "AlarmsTopic"}]
        for a in (r["Properties"] for r in resources(cfn, "AWS::CloudWatch::Alarm").values())
    )


def test_outputs_name_every_resource_an_operator_needs(cfn: dict[str, Any]) -> None:
    assert {
        "RequestsTableName",
        "ArchiveBucketName",
        "OutcomesTopicArn",
        "AlarmsTopicArn",
        "ApiKeySecretArn",
        "PollerFunctionName",
        "FailureQueueUrl",
        "FailureQueueArn",
        "ScheduleDeadLetterQueueUrl",
        "ScheduleDeadLetterQueueArn",
    } <= set(cfn["Outputs"])
