"""What an AWS request is (service and operation) and what AWS answers when it fails, byte for byte as botocore
expects it. Used by the fault-injecting proxy (local/faultproxy.py).

Shapes, from botocore's service models and the AWS API references:
- DynamoDB speaks JSON 1.0 (`X-Amz-Target: DynamoDB_20120810.<Op>`); errors are `{"__type": "<ns>#<Code>",
  "message": ...}` with HTTP 400 (ThrottlingException, ProvisionedThroughputExceededException) or 500
  (InternalServerError), and an `x-amz-crc32` header over the body.
- Secrets Manager speaks JSON 1.1 (`X-Amz-Target: secretsmanager.<Op>`); its server fault is InternalServiceError/500.
- SNS speaks the query protocol (form body with `Action=`); errors are `<ErrorResponse><Error><Type/><Code/>
  <Message/></Error><RequestId/></ErrorResponse>`; throttling is `Throttling`/400 "Rate exceeded".
- EventBridge (`X-Amz-Target: AWSEvents.<Op>`, JSON 1.1) and Step Functions (`AWSStepFunctions.<Op>`, JSON 1.0)
  answer errors as `{"__type": "<Code>", "message": ...}`: ThrottlingException/400, InternalException/500 (events),
  ServiceUnavailable/503 (states). A PutEvents with refused entries is a 200 whose `Entries` carry `ErrorCode` and
  `ErrorMessage` in place of `EventId`, counted in `FailedEntryCount` (issue 19).
- S3 is REST-XML: the operation follows from method, path and query (`?uploads`, `?uploadId=&partNumber=`, ...);
  errors are `<Error><Code/><Message/><RequestId/><HostId/></Error>`, SlowDown with 503.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit
from xml.sax.saxutils import escape

_TARGET_SERVICES = {"dynamodb": "dynamodb", "secretsmanager": "secretsmanager", "amazonsqs": "sqs"}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _scope_service(authorization: str) -> str | None:
    """`AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/dynamodb/aws4_request, ...` -> dynamodb."""
    marker = "Credential="
    at = authorization.find(marker)
    if at < 0:
        return None
    parts = authorization[at + len(marker) :].split(",", maxsplit=1)[0].split("/")
    return parts[3] if len(parts) >= 5 else None


def form_params(headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    if "x-www-form-urlencoded" not in headers.get("content-type", ""):
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def recognise(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Call:
    """The service and operation of one request. `headers` keys are lower-case; `target` is path?query."""
    amz_target = headers.get("x-amz-target", "")
    service = _scope_service(headers.get("authorization", ""))
    if amz_target:
        prefix, _, operation = amz_target.partition(".")
        return Call(service or _TARGET_SERVICES.get(prefix.split("_")[0].lower(), prefix.lower()), operation)
    action = form_params(headers, body).get("Action") or parse_qs(urlsplit(target).query).get("Action", [""])[0]
    if action:
        return Call(service or "query", action)
    return Call(service or "s3", _s3_operation(method.upper(), target, headers))


def _s3_operation(method: str, target: str, headers: Mapping[str, str]) -> str:
    parts = urlsplit(target)
    query = parse_qs(parts.query, keep_blank_values=True)
    has_key = "/" in parts.path.strip("/")  # path-style: /bucket/key...
    copy = "x-amz-copy-source" in headers
    if "uploadId" in query:
        if method == "PUT":
            return "UploadPartCopy" if copy else "UploadPart"
        return {"POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload", "GET": "ListParts"}.get(
            method, "Unknown"
        )
    if method == "POST" and "uploads" in query:
        return "CreateMultipartUpload"
    if not has_key:
        bucket_ops = {"GET": "ListObjectsV2" if "list-type" in query else "ListObjects", "PUT": "CreateBucket"}
        return {**bucket_ops, "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(method, "Unknown")
    if method == "PUT":
        return "CopyObject" if copy else "PutObject"
    return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method, "Unknown")


# -- error shapes --------------------------------------------------------------------------------------------

_DYNAMO_ERRORS = {
    "ThrottlingException": (
        400,
        "com.amazon.coral.availability#ThrottlingException",
        "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your "
        "table or index so please try again shortly.",
    ),
    "ProvisionedThroughputExceededException": (
        400,
        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. Consider increasing your "
        "provisioning level with the UpdateTable API.",
    ),
    "InternalServerError": (500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error"),
}


def _request_id() -> str:
    return uuid.uuid4().hex.upper()


def dynamodb_error(code: str) -> Answer:
    status, kind, message = _DYNAMO_ERRORS[code]
    body = json.dumps({"__type": kind, "message": message}).encode()
    headers = {
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-requestid": _request_id(),
        "x-amz-crc32": str(zlib.crc32(body) & 0xFFFFFFFF),
    }
    return Answer(status, headers, body)


def secrets_error(code: str = "InternalServiceError", status: int = 500) -> Answer:
    body = json.dumps({"__type": code, "Message": "An error occurred on the server side."}).encode()
    return Answer(status, {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": _request_id()}, body)


def query_error(code: str, status: int, message: str, sender: bool = True) -> Answer:
    body = (
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error>'
        f"<Type>{'Sender' if sender else 'Receiver'}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>{_request_id()}</RequestId></ErrorResponse>"
    ).encode()
    return Answer(status, {"content-type": "text/xml", "x-amzn-requestid": _request_id()}, body)


def s3_error(code: str, status: int, message: str) -> Answer:
    request_id = _request_id()[:16]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{uuid.uuid4().hex}</HostId></Error>"
    ).encode()
    return Answer(status, {"content-type": "application/xml", "x-amz-request-id": request_id}, body)


_JSON_PROTOCOL = {"events": "application/x-amz-json-1.1", "states": "application/x-amz-json-1.0"}


def json_error(service: str, code: str, status: int, message: str) -> Answer:
    """EventBridge's and Step Functions' error shape (issue 19)."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return Answer(status, {"content-type": _JSON_PROTOCOL[service], "x-amzn-requestid": _request_id()}, body)


def put_events_answer(results: list[dict[str, str]]) -> Answer:
    """A real 200 PutEvents answer: one result per entry, in order (`EventId`, or `ErrorCode` + `ErrorMessage`)."""
    failed = sum(1 for r in results if "ErrorCode" in r)
    body = json.dumps({"FailedEntryCount": failed, "Entries": results}).encode()
    return Answer(200, {"content-type": _JSON_PROTOCOL["events"], "x-amzn-requestid": _request_id()}, body)


def throttle(call: Call) -> Answer:
    if call.service in _JSON_PROTOCOL:
        return json_error(call.service, "ThrottlingException", 400, "Rate exceeded")
    if call.service == "dynamodb":
        return dynamodb_error("ThrottlingException")
    if call.service == "s3":
        return s3_error("SlowDown", 503, "Please reduce your request rate.")
    if call.service == "secretsmanager":
        return secrets_error("ThrottlingException", 400)
    return query_error("Throttling", 400, "Rate exceeded")


def server_error(call: Call) -> Answer:
    if call.service == "events":
        return json_error("events", "InternalException", 500, "Internal service error")
    if call.service == "states":
        return json_error("states", "ServiceUnavailable", 503, "Service unavailable")
    if call.service == "dynamodb":
        return dynamodb_error("InternalServerError")
    if call.service == "s3":
        return s3_error("InternalError", 500, "We encountered an internal error. Please try again.")
    if call.service == "secretsmanager":
        return secrets_error()
    return query_error("InternalError", 500, "Internal Error", sender=False)


def s3_error_in_200() -> Answer:
    """CompleteMultipartUpload and CopyObject may answer 200 and put the error in the body."""
    error = s3_error("InternalError", 500, "We encountered an internal error. Please try again.")
    return Answer(200, error.headers, error.body)


# -- SNS PublishBatch with some entries failed -------------------------------------------------------------

_ENTRY = "PublishBatchRequestEntries.member."


def split_batch(params: Mapping[str, str], failing: set[int]) -> tuple[dict[str, str], list[str]]:
    """The form without the entries numbered in `failing` (renumbered from 1), and the failed entries' Ids."""
    kept: dict[str, str] = {}
    failed_ids: list[str] = []
    renumber = {n: i + 1 for i, n in enumerate(x for x in entry_numbers(params) if x not in failing)}
    for key, value in params.items():
        if not key.startswith(_ENTRY):
            kept[key] = value
            continue
        number, _, rest = key[len(_ENTRY) :].partition(".")
        if int(number) in failing:
            if rest == "Id":
                failed_ids.append(value)
            continue
        kept[f"{_ENTRY}{renumber[int(number)]}.{rest}"] = value
    return kept, failed_ids


def entry_numbers(params: Mapping[str, str]) -> list[int]:
    return sorted({int(k[len(_ENTRY) :].split(".")[0]) for k in params if k.startswith(_ENTRY)})


def encode_form(params: Mapping[str, str]) -> bytes:
    return urlencode(list(params.items())).encode()


def publish_batch_answer(successful: list[tuple[str, str]], failed_ids: list[str]) -> Answer:
    """A real 200 PublishBatch answer: `successful` (Id, MessageId) pairs and `failed_ids` in Failed."""
    ok = "".join(f"<member><Id>{escape(i)}</Id><MessageId>{escape(m)}</MessageId></member>" for i, m in successful)
    bad = "".join(
        f"<member><Id>{escape(i)}</Id><Code>InternalError</Code><Message>Internal Error</Message>"
        "<SenderFault>false</SenderFault></member>"
        for i in failed_ids
    )
    body = (
        '<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult>'
        f"<Successful>{ok}</Successful><Failed>{bad}</Failed></PublishBatchResult>"
        f"<ResponseMetadata><RequestId>{_request_id()}</RequestId></ResponseMetadata></PublishBatchResponse>"
    ).encode()
    return Answer(200, {"content-type": "text/xml", "x-amzn-requestid": _request_id()}, body)
