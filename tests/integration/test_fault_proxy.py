"""The fault proxy's answers are the real AWS failures as botocore sees them: the same error codes, HTTP statuses
and retry decisions as against AWS, so the code's error mapping is exercised for real."""

from __future__ import annotations

import io
import time

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from local.faultproxy import FaultProxy, Rule, ops
from local.stack import LocalStack, drain
from tests.integration.faults import client_via, proxy

__all__ = ["proxy"]
KEY = {"request_id": {"S": "nobody"}}


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [
        ("throttle", "ThrottlingException", 400),
        ("capacity", "ProvisionedThroughputExceededException", 400),
        ("error", "InternalServerError", 500),
    ],
)
def test_dynamodb_errors_parse_as_aws_and_are_retried(
    stack: LocalStack, proxy: FaultProxy, fault: str, code: str, status: int
) -> None:
    ddb = client_via(proxy, "dynamodb", attempts=2)
    # Given every call fails: botocore gives up after its attempts with the modelled error
    proxy.set_rules([Rule("dynamodb", fault)])
    with pytest.raises(ClientError) as failed:
        ddb.get_item(TableName=stack.table, Key=KEY)
    assert failed.value.response["Error"]["Code"] == code
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert failed.value.response["ResponseMetadata"]["RetryAttempts"] == 1  # retryable: it was tried again
    # Given only the first call fails: the retry hides it
    proxy.set_rules([Rule("dynamodb", fault, times=1)])
    assert ddb.get_item(TableName=stack.table, Key=KEY)["ResponseMetadata"]["RetryAttempts"] == 1


def test_s3_slowdown_and_resets_during_a_multipart_upload_are_retried(stack: LocalStack, proxy: FaultProxy) -> None:
    s3 = client_via(proxy, "s3", attempts=4)
    data = bytes(range(256)) * (36 * 1024)  # 9 MiB: two parts
    # Given UploadPart is reset twice, answered SlowDown once, and CompleteMultipartUpload is reset after S3 did it
    proxy.set_rules(
        [
            Rule("s3", "reset", operations=ops("UploadPart"), times=2),
            Rule("s3", "throttle", operations=ops("UploadPart"), times=1),
            Rule("s3", "reset-after", operations=ops("CompleteMultipartUpload"), times=1),
        ]
    )
    s3.upload_fileobj(io.BytesIO(data), stack.bucket, "big")
    # Then the object is whole, and each fault really happened
    assert stack.client("s3").get_object(Bucket=stack.bucket, Key="big")["Body"].read() == data
    assert proxy.total == 4


def test_s3_slowdown_is_a_503_slowdown(stack: LocalStack, proxy: FaultProxy) -> None:
    proxy.set_rules([Rule("s3", "throttle")])
    with pytest.raises(ClientError) as failed:
        client_via(proxy, "s3", attempts=1).put_object(Bucket=stack.bucket, Key="k", Body=b"x")
    assert (failed.value.response["Error"]["Code"], failed.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "SlowDown",
        503,
    )
    proxy.set_rules([Rule("s3", "reset")])
    with pytest.raises(ConnectionClosedError):
        client_via(proxy, "s3", attempts=1).put_object(Bucket=stack.bucket, Key="k", Body=b"x")


def test_sns_publish_batch_fails_some_entries_and_publishes_the_rest(stack: LocalStack, proxy: FaultProxy) -> None:
    sns = client_via(proxy, "sns")
    proxy.set_rules([Rule("sns", "partial")])
    answer = sns.publish_batch(
        TopicArn=stack.topic_arn, PublishBatchRequestEntries=[{"Id": f"m{i}", "Message": f"n{i}"} for i in range(6)]
    )
    failed = {f["Id"] for f in answer["Failed"]}
    published = {s["Id"] for s in answer["Successful"]}
    assert failed and failed.isdisjoint(published) and failed | published == {f"m{i}" for i in range(6)}
    assert all(f["Code"] == "InternalError" and f["SenderFault"] is False for f in answer["Failed"])
    assert stack.queue_url is not None
    bodies = sorted(m["Message"] for m in drain(stack, stack.queue_url))
    assert bodies == sorted(f"n{i[1:]}" for i in published)  # only the successful ones reached subscribers


def test_sns_throttling_is_a_retryable_throttling_400(stack: LocalStack, proxy: FaultProxy) -> None:
    proxy.set_rules([Rule("sns", "throttle")])
    with pytest.raises(ClientError) as failed:
        client_via(proxy, "sns", attempts=2).publish(TopicArn=stack.topic_arn, Message="m")
    meta = failed.value.response["ResponseMetadata"]
    assert (failed.value.response["Error"]["Code"], meta["HTTPStatusCode"], meta["RetryAttempts"]) == (
        "Throttling",
        400,
        1,
    )


def test_secrets_manager_500_and_a_hang_past_the_read_timeout(stack: LocalStack, proxy: FaultProxy) -> None:
    proxy.set_rules([Rule("secretsmanager", "error")])
    with pytest.raises(ClientError) as failed:
        client_via(proxy, "secretsmanager", attempts=2).get_secret_value(SecretId=stack.secret_id)
    assert failed.value.response["Error"]["Code"] == "InternalServiceError"
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    # a hang: the client's read timeout ends each attempt, the proxy only holds the line
    proxy.set_rules([Rule("secretsmanager", "timeout", seconds=0.6)])
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        client_via(proxy, "secretsmanager", attempts=1, read_timeout=0.2).get_secret_value(SecretId=stack.secret_id)
    assert time.monotonic() - started < 0.6


def test_latency_is_added_and_counted(stack: LocalStack, proxy: FaultProxy) -> None:
    proxy.set_rules([Rule("dynamodb", "latency", operations=ops("GetItem"), seconds=0.2)])
    started = time.monotonic()
    client_via(proxy, "dynamodb").get_item(TableName=stack.table, Key=KEY)
    assert time.monotonic() - started >= 0.2
    assert proxy.injected[("dynamodb", "GetItem", "latency")] == 1
