"""The fault proxy recognises each call the poller makes from the request botocore really sends.

The requests are built by boto3 itself and captured before they leave (no network): what the proxy sees on the
wire is exactly this.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.awscalls import Call, entry_numbers, form_params, recognise, split_batch


class _Sent(Exception):
    pass


def _captured(service: Any, call: Callable[[Any], object]) -> Call:
    client = boto3.client(
        service,
        endpoint_url="http://127.0.0.1:9",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    seen: list[Call] = []

    def before_send(request: Any, **_: Any) -> None:
        body = request.body
        data = body if isinstance(body, bytes) else (body.read() if hasattr(body, "read") else (body or b""))
        data = data.encode() if isinstance(data, str) else data
        target = request.url.split("127.0.0.1:9", 1)[1]
        headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
        seen.append(recognise(request.method, target, headers, data))
        raise _Sent

    client.meta.events.register("before-send", before_send)
    with pytest.raises(_Sent):
        call(client)
    return seen[0]


KEY = {"request_id": {"S": "r1"}}
CASES: list[tuple[str, Callable[[Any], object], Call]] = [
    ("dynamodb", lambda c: c.update_item(TableName="t", Key=KEY), Call("dynamodb", "UpdateItem")),
    ("dynamodb", lambda c: c.query(TableName="t", KeyConditionExpression="a = :a"), Call("dynamodb", "Query")),
    ("dynamodb", lambda c: c.put_item(TableName="t", Item=KEY), Call("dynamodb", "PutItem")),
    ("secretsmanager", lambda c: c.get_secret_value(SecretId="s"), Call("secretsmanager", "GetSecretValue")),
    (
        "sns",
        lambda c: c.publish_batch(TopicArn="arn:aws:sns:eu-west-1:1:t", PublishBatchRequestEntries=[]),
        Call("sns", "PublishBatch"),
    ),
    ("sns", lambda c: c.publish(TopicArn="arn:aws:sns:eu-west-1:1:t", Message="m"), Call("sns", "Publish")),
    ("s3", lambda c: c.put_object(Bucket="b", Key="k/a.csv", Body=b"x"), Call("s3", "PutObject")),
    ("s3", lambda c: c.create_multipart_upload(Bucket="b", Key="k/a"), Call("s3", "CreateMultipartUpload")),
    (
        "s3",
        lambda c: c.upload_part(Bucket="b", Key="k/a", UploadId="u1", PartNumber=2, Body=io.BytesIO(b"x")),
        Call("s3", "UploadPart"),
    ),
    (
        "s3",
        lambda c: c.complete_multipart_upload(
            Bucket="b", Key="k/a", UploadId="u1", MultipartUpload={"Parts": [{"ETag": "e", "PartNumber": 1}]}
        ),
        Call("s3", "CompleteMultipartUpload"),
    ),
    (
        "s3",
        lambda c: c.abort_multipart_upload(Bucket="b", Key="k/a", UploadId="u1"),
        Call("s3", "AbortMultipartUpload"),
    ),
    (
        "s3",
        lambda c: c.copy_object(Bucket="b", Key="k/a", CopySource={"Bucket": "b", "Key": "k/a"}),
        Call("s3", "CopyObject"),
    ),
    ("s3", lambda c: c.get_object(Bucket="b", Key="k/a"), Call("s3", "GetObject")),
    ("s3", lambda c: c.head_object(Bucket="b", Key="k/a"), Call("s3", "HeadObject")),
    ("s3", lambda c: c.list_objects_v2(Bucket="b"), Call("s3", "ListObjectsV2")),
]


@pytest.mark.parametrize(("service", "call", "expected"), CASES, ids=[c[2].operation for c in CASES])
def test_each_call_the_poller_makes_is_recognised(service: str, call: Callable[[Any], object], expected: Call) -> None:
    assert _captured(service, call) == expected


def test_a_request_without_signature_is_still_recognised_by_its_shape() -> None:
    # Given requests with no Authorization header (the proxy falls back to the protocol's own markers)
    # Then each is still attributed to its service
    assert recognise("POST", "/", {"x-amz-target": "DynamoDB_20120810.UpdateItem"}, b"") == Call(
        "dynamodb", "UpdateItem"
    )
    assert recognise("POST", "/", {"x-amz-target": "secretsmanager.GetSecretValue"}, b"") == Call(
        "secretsmanager", "GetSecretValue"
    )
    assert recognise("PUT", "/bucket/key?partNumber=1&uploadId=abc", {}, b"") == Call("s3", "UploadPart")
    assert recognise("POST", "/bucket/key?uploadId=abc", {}, b"") == Call("s3", "CompleteMultipartUpload")
    assert recognise("PUT", "/bucket", {}, b"") == Call("s3", "CreateBucket")


def test_a_batch_split_keeps_the_surviving_entries_whole_and_renumbered() -> None:
    # Given a PublishBatch form with three entries, each with attributes
    body = b"Action=PublishBatch&TopicArn=arn&" + b"&".join(
        b"PublishBatchRequestEntries.member.%d.Id=m%d&PublishBatchRequestEntries.member.%d.Message=body%d"
        % (n, n, n, n)
        for n in (1, 2, 3)
    )
    params = form_params({"content-type": "application/x-www-form-urlencoded; charset=utf-8"}, body)
    assert entry_numbers(params) == [1, 2, 3]
    # When entry 2 is made to fail
    kept, failed = split_batch(params, {2})
    # Then it is reported failed and the others are sent as entries 1 and 2, with their own fields
    assert failed == ["m2"]
    assert kept["PublishBatchRequestEntries.member.1.Message"] == "body1"
    assert kept["PublishBatchRequestEntries.member.2.Id"] == "m3"
    assert "PublishBatchRequestEntries.member.3.Id" not in kept
    assert kept["Action"] == "PublishBatch"
