"""The template's policies tested for real (issue 18): a moto server of its own that enforces IAM, one IAM user per
deployed identity holding exactly that identity's policies as the template renders them (local/policies.py), and
each doing what the docs say it may do (allowed) and what they do not (AccessDenied).

What moto checks: every call's action against the user's policies, and for S3 and SQS the object's or queue's ARN.
What it does not, and where it is checked instead (tests/template): the resources of other services' statements,
condition keys (`dynamodb:LeadingKeys`, `kms:ViaService`), resource policies (the outcomes topic accepting only the
poller and OperatorRole). See local/policies.py `as_moto_evaluates`. The one resource scope of another service that
a doc promises, PutEvents on the stack's outcome bus and no other, is asked of moto's policy engine with each bus's
ARN (`identity_permits`), since moto's server authorises EventBridge calls against "*": in
test_workflow_and_callbacks.py, with the workflow's own identity (WorkflowPolicy).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.policies import EXTRA_QUEUES, LocalArns, as_moto_evaluates, policy_json, rendered_policies
from local.registration import Registration, create_registration
from local.stack import REGION, LocalStack, create_stack, enforce_iam_now, moto_server
from local.workflow import create_outcome_rule
from profile_poller.adapters.dynamo_items import from_dynamo, to_dynamo
from tests.conftest import API_KEY

# submitted_at a minute ago: a registration more than 300 s ahead of the clock is refused (core/bounds.py), and
# the sweeps here run on the real clock (OffsetClock), so a request put "now" is neither early nor expired
NOW = int(time.time()) - 60
IDENTITIES = (
    "ProducerPolicy",
    "EventProducerPolicy",
    "OperatorPolicy",
    "WorkflowPolicy",
    "PollerRole",
    "RegisterRole",
    "OperatorRole",
)
# a task token as Step Functions issues them is opaque; moto (not executing state machines) accepts any
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAA" + "x" * 40


@dataclass
class World:
    endpoint: str
    registration: Registration
    failure_url: str
    schedule_dlq_url: str
    as_: dict[str, LocalStack]  # identity -> the stack seen with that identity's key ("admin": everything)
    documents: dict[str, list[dict[str, Any]]]  # identity -> its rendered policies (before moto's adaptation)
    arns: LocalArns
    outcome_events_url: str  # a queue behind a rule on the outcome bus: what the poller put there


@pytest.fixture(scope="session")
def world() -> Iterator[World]:
    with moto_server(enforce_iam=True) as endpoint:
        # Given the local stack, set up before IAM is enforced
        stack = create_stack(endpoint, API_KEY)
        registration = create_registration(stack)
        sqs = stack.client("sqs")
        failure_url = sqs.create_queue(QueueName=EXTRA_QUEUES["FailureQueue"])["QueueUrl"]
        schedule_dlq_url = sqs.create_queue(QueueName=EXTRA_QUEUES["ScheduleDeadLetterQueue"])["QueueUrl"]
        # And one IAM user per identity, holding exactly its rendered policies (as moto can evaluate them)
        arns = LocalArns(stack.table, stack.bucket, stack.topic_arn, stack.secret_id)
        documents = rendered_policies(arns)
        outcome_events_url = create_outcome_rule(stack, {"source": ["profile-poller"]}, queue="iam-outcome-events")
        iam = stack.client("iam")
        views: dict[str, LocalStack] = {}
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        for identity, policies in [*documents.items(), ("admin", [everything])]:
            iam.create_user(UserName=identity)
            for n, document in enumerate(policies):
                arn = iam.create_policy(
                    PolicyName=f"{identity}-{n}", PolicyDocument=policy_json(as_moto_evaluates(document))
                )["Policy"]["Arn"]
                iam.attach_user_policy(UserName=identity, PolicyArn=arn)
            key = iam.create_access_key(UserName=identity)["AccessKey"]
            views[identity] = dataclasses.replace(stack, credentials=(key["AccessKeyId"], key["SecretAccessKey"]))
        # When IAM is enforced from here on
        enforce_iam_now(endpoint)
        yield World(endpoint, registration, failure_url, schedule_dlq_url, views, documents, arns, outcome_events_url)


def is_access_denied(exc: ClientError) -> bool:
    """moto answers an IAM refusal in XML, also to JSON-protocol clients (botocore then reports the code "403")."""
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("AccessDenied", "AccessDeniedException") or (code == "403" and "<Code>AccessDenied<" in str(exc))


def denied(call: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        call(*args, **kwargs)
    except ClientError as exc:
        if is_access_denied(exc):
            return True
        raise
    return False


def authorised(call: Any, *args: Any, **kwargs: Any) -> bool:
    """IAM let the call through: it succeeded, or failed on something else (moto authorises before it acts; it
    answers 500 to StartMessageMoveTask, which it does not fully implement, and ValidationError to a missing stack)."""
    try:
        call(*args, **kwargs)
    except ClientError as exc:
        return not is_access_denied(exc)
    return True


def new_id() -> str:
    return f"r-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def acting_as(world: World, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point the process's AWS environment (boto3's default session: the CLI, the functions) at an identity."""

    def become(identity: str) -> None:
        key, secret = world.as_[identity].credentials
        monkeypatch.setenv("AWS_ENDPOINT_URL", world.endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)

    return become


def stored(world: World, request_id: str) -> dict[str, Any] | None:
    admin = world.as_["admin"]
    answer = admin.client("dynamodb").get_item(TableName=admin.table, Key=to_dynamo({"request_id": request_id}))
    return from_dynamo(answer["Item"]) if "Item" in answer else None
