"""The local AWS: a moto server on 127.0.0.1 and the stack's resources, named as the template names them.

moto's CloudFormation drops properties silently, so the resources are created here with boto3 to match
template.yaml (the template tests check that the two agree on keys, index and TTL).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

REGION = "eu-west-1"
STACK = "profile-poller-local"
# logical id in template.yaml -> physical name locally (make invoke resolves !Ref with this)
LOCAL_NAMES = {
    "RequestsTable": f"{STACK}-requests",
    "ArchiveBucket": f"{STACK}-archive",
    "OutcomesTopic": f"{STACK}-outcomes",
    "ApiKeySecret": f"{STACK}/api-key",
    "RegistrationBus": f"{STACK}-registrations",
    "OutcomeBus": f"{STACK}-outcomes",  # issue 19: OUTCOME_BUS_NAME
    "RegistrationQueue": f"{STACK}-registrations",
    "RegistrationDeadLetterQueue": f"{STACK}-registrations-dlq",
    "RejectedRegistrationsQueue": f"{STACK}-registrations-rejected",
}
QUEUES = {"RegistrationQueue", "RegistrationDeadLetterQueue", "RejectedRegistrationsQueue"}


ACCOUNT = "123456789012"  # moto's default account


def local_ref(logical_id: str) -> str:
    """What `!Ref` returns for a resource of the local stack (an ARN for the topic, a name elsewhere)."""
    name = LOCAL_NAMES[logical_id]
    if logical_id in QUEUES:  # a queue's Ref is its URL
        return f"{os.environ.get('AWS_ENDPOINT_URL', 'http://127.0.0.1')}/{ACCOUNT}/{name}"
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}" if logical_id == "OutcomesTopic" else name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def aws_env(endpoint: str, dynamodb_endpoint: str | None = None) -> dict[str, str]:
    """What boto3 needs to talk to moto: the endpoint and throwaway credentials. With `dynamodb_endpoint`,
    DynamoDB alone goes there (botocore's service-specific AWS_ENDPOINT_URL_DYNAMODB)."""
    return {
        **({"AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint} if dynamodb_endpoint else {}),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }


def wait_listening(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # waiting for a server process to start, not timing a test
    raise RuntimeError(f"no server listened on port {port} within {timeout}s")


@contextmanager
def moto_server(separate_process: bool = False, enforce_iam: bool = False) -> Iterator[str]:
    """Yield the endpoint of a fresh moto server; in its own process when asked (benchmarks).

    `enforce_iam`: a server of its own (moto's auth settings are global to the process) that authenticates and
    authorises every call against the caller's IAM identity policies once `enforce_iam_now(endpoint)` is called;
    until then nothing is checked (INITIAL_NO_AUTH_ACTION_COUNT, here practically unbounded), so a test sets up."""
    if separate_process or enforce_iam:
        port = free_port()
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(10**9)} if enforce_iam else None
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        try:
            wait_listening(port)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        return
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def enforce_iam_now(endpoint: str) -> None:
    """From the next call on, a server started with `enforce_iam` checks every call (moto's reset-auth: the
    unchecked-call allowance drops to 0); each call must then be signed with an access key of a moto IAM user."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        if answer.status != 200:
            raise RuntimeError(f"moto did not turn IAM enforcement on: {answer.status}")


@dataclass
class LocalStack:
    endpoint: str
    table: str
    bucket: str
    topic_arn: str
    secret_id: str
    queue_url: str | None = None
    dynamodb_endpoint: str | None = None  # the table on another emulator (dynalite); moto for the rest
    credentials: tuple[str, str] = ("testing", "testing")  # an IAM user's key on a server that enforces IAM

    def client(self, service: Any) -> Any:
        if service == "dynamodb" and self.dynamodb_endpoint:
            return _client(self.dynamodb_endpoint, service, self.credentials)
        return _client(self.endpoint, service, self.credentials)

    def function_env(self, api_base_url: str, file_hosts: str = "", **overrides: str) -> dict[str, str]:
        """The function's environment as the template sets it, pointed at the local resources; with the template's
        process variables (glibc's `MALLOC_*`), which take effect in a process started with this environment."""
        from local.template import process_env  # local.template imports this module

        env = {
            **process_env(),
            "TABLE_NAME": self.table,
            "BUCKET_NAME": self.bucket,
            "TOPIC_ARN": self.topic_arn,
            "SECRET_ID": self.secret_id,
            "API_BASE_URL": api_base_url,
            "FILE_HOSTS": file_hosts,
            "ALLOW_PLAIN_HTTP": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "ProfilePoller",
        }
        env.update(overrides)
        return env


def _client(endpoint: str, service: Any, credentials: tuple[str, str] = ("testing", "testing")) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials[0],
        aws_secret_access_key=credentials[1],
        aws_session_token=None,
    )


# the clients that set a stack up, made once per process: a botocore client costs ~25 ms to make (its TLS context),
# and a test builds a stack with six; a test's own `stack.client(...)` stays a fresh one it may instrument
_setup_client = functools.cache(_client)


def s3_reader(stack: LocalStack) -> Any:
    """An S3 client straight to moto that does not check response CRC32s: moto gives a multipart object a CRC32
    header that is not its bytes' (S3 gives a composite or the full-object one). Compare SHA-256s instead."""
    config = Config(response_checksum_validation="when_required")
    return boto3.client(
        "s3",
        endpoint_url=stack.endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def create_table(endpoint: str) -> str:
    """The requests table with its sparse due index and TTL, ACTIVE; recreated empty if it exists.

    dynalite has no UpdateTimeToLive (TTL matters only in AWS) and may show a table CREATING for a moment."""
    table = LOCAL_NAMES["RequestsTable"]
    ddb = _setup_client(endpoint, "dynamodb")
    if table in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=table)
        _wait_for(lambda: table not in ddb.list_tables()["TableNames"], f"table {table} deleted")
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "request_id", "AttributeType": "S"},
            {"AttributeName": "due_shard", "AttributeType": "S"},
            {"AttributeName": "next_check_at", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "request_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "due",
                "KeySchema": [
                    {"AttributeName": "due_shard", "KeyType": "HASH"},
                    {"AttributeName": "next_check_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    _wait_for(lambda: ddb.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE", f"table {table}")
    try:
        ddb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
    except ddb.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "UnknownOperationException":  # dynalite
            raise
    return table


def _wait_for(done: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout}s")
        time.sleep(0.02)  # waiting for an emulator's table status, not timing a test


def create_stack(
    endpoint: str,
    api_key: str,
    base_url: str = "",
    subscribe_queue: bool = True,
    dynamodb_endpoint: str | None = None,
) -> LocalStack:
    """Create the table (sparse due index, TTL), bucket, topic, secret and an SQS subscriber; the table on
    `dynamodb_endpoint` when given (dynalite), everything else on the moto server at `endpoint`."""

    def client(service: str) -> Any:
        return _setup_client(endpoint, service)

    table = create_table(dynamodb_endpoint or endpoint)
    bucket = LOCAL_NAMES["ArchiveBucket"]
    client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    topic_arn = client("sns").create_topic(Name=LOCAL_NAMES["OutcomesTopic"])["TopicArn"]
    secret_value = json.dumps({"api_key": api_key, "base_url": base_url} if base_url else {"api_key": api_key})
    secret_arn = client("secretsmanager").create_secret(Name=LOCAL_NAMES["ApiKeySecret"], SecretString=secret_value)[
        "ARN"
    ]
    client("events").create_event_bus(Name=LOCAL_NAMES["OutcomeBus"])  # the template's OutcomeBus (issue 19)
    stack = LocalStack(endpoint, table, bucket, topic_arn, secret_arn, dynamodb_endpoint=dynamodb_endpoint)
    if subscribe_queue:
        stack.queue_url = subscribe(stack, f"{STACK}-subscriber", None)
    return stack


def subscribe(stack: LocalStack, queue_name: str, filter_policy: dict[str, Any] | None) -> str:
    """An SQS queue subscribed to the outcomes topic (raw delivery off: the SNS envelope arrives)."""
    sqs = _setup_client(stack.endpoint, "sqs", stack.credentials)
    url: str = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    sns = _setup_client(stack.endpoint, "sns", stack.credentials)
    sns.subscribe(TopicArn=stack.topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


def drain(stack: LocalStack, queue_url: str) -> list[dict[str, Any]]:
    """Every SNS envelope waiting in the queue (deleted as read)."""
    sqs = stack.client("sqs")
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def apply_env(values: dict[str, str]) -> None:
    os.environ.update(values)
