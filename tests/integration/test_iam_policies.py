"""The template's policies tested for real (issue 18): a moto server of its own that enforces IAM, one IAM user per
deployed identity holding exactly that identity's policies as the template renders them (local/policies.py), and
each doing what the docs say it may do (allowed) and what they do not (AccessDenied).

What moto checks: every call's action against the user's policies, and for S3 and SQS the object's or queue's ARN.
What it does not, and where it is checked instead (tests/template): the resources of other services' statements,
condition keys (`dynamodb:LeadingKeys`, `kms:ViaService`), resource policies (the outcomes topic accepting only the
poller and OperatorRole). See local/policies.py `as_moto_evaluates`. The one resource scope of another service that
a doc promises, PutEvents on the stack's outcome bus and no other, is asked of moto's policy engine with each bus's
ARN (`identity_permits`), since moto's server authorises EventBridge calls against "*": in
test_workflow_and_callback_permissions.py, with the workflow's own identity (WorkflowPolicy).
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.context import LambdaContext, OffsetClock
from local.faultproxy import FaultProxy, Rule, ops
from local.policies import (
    EXTRA_QUEUES,
    LocalArns,
    as_moto_evaluates,
    policy_json,
    rendered_policies,
)
from local.registration import Registration, create_registration, deliver, put_submissions, queued
from local.simulator import FileSpec, Simulator, Step
from local.stack import (
    LOCAL_NAMES,
    REGION,
    LocalStack,
    create_stack,
    drain,
    enforce_iam_now,
    moto_server,
)
from local.workflow import create_outcome_rule
from profile_poller.adapters.dynamo_items import ASKING_KEY, from_dynamo, to_dynamo
from profile_poller.core.model import Kind
from profile_poller.entry.cli import main
from profile_poller.entry.config import RegisterSettings, load_settings
from profile_poller.entry.producer import register
from profile_poller.entry.register import RegisterRuntime
from profile_poller.entry.runtime import Runtime
from tests.conftest import API_KEY
from tests.integration.test_registration import load_function

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


@pytest.fixture(scope="module")
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


def test_the_enforcing_server_refuses_an_unknown_key(world: World) -> None:
    # the other tests' "allowed" mean something only if moto checks at all
    stranger = dataclasses.replace(world.as_["admin"], credentials=("AKIAUNKNOWN000000000", "x" * 40))
    with pytest.raises(ClientError):
        stranger.client("dynamodb").describe_table(TableName=stranger.table)


def test_a_producer_registers_by_item_event_and_queue_with_exactly_the_producer_policy(world: World) -> None:
    producer = world.as_["ProducerPolicy"]
    # When it registers with the helper, on the bus and straight on the queue
    rid = new_id()
    register(producer.client("dynamodb"), producer.table, rid, kind=Kind.GET, submitted_at=NOW)
    put_submissions(producer, world.registration.bus, [{"request_id": new_id(), "kind": "get"}])
    producer.client("sqs").send_message(
        QueueUrl=world.registration.queue_url, MessageBody=json.dumps({"request_id": new_id(), "kind": "update"})
    )
    # Then each was allowed; the item is there
    item = stored(world, rid)
    assert item is not None and item["status"] == "PENDING"


def test_the_producer_helpers_retry_path_works_with_exactly_the_producer_policy(world: World) -> None:
    # Given DynamoDB applies the producer's put, then answers 500; botocore retries the same put
    producer = world.as_["ProducerPolicy"]
    key, secret = producer.credentials
    with FaultProxy(world.endpoint, seed=5) as proxy:
        client = boto3.client(
            "dynamodb",
            endpoint_url=proxy.url,
            region_name=REGION,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=1, read_timeout=5),
        )
        proxy.set_rules([Rule("dynamodb", "error-after", operations=ops("PutItem"), times=1)])
        rid = new_id()
        # When it registers: the retry's condition fails on its own item, which comes back without a read
        item = register(client, producer.table, rid, kind=Kind.UPDATE, submitted_at=NOW)
        assert proxy.total == 1
    # Then the producer is told it worked (a GetItem here would have been AccessDenied)
    assert item["request_id"] == rid and item["kind"] == "update" and item["submitted_at"] == NOW


def test_an_untrusted_producer_registers_by_event_and_queue_but_never_touches_the_table(world: World) -> None:
    # Given a producer holding exactly the event producer policy (docs/producers.md: untrusted producers)
    untrusted = world.as_["EventProducerPolicy"]
    # When it registers on the bus and on the queue, Then both are allowed
    put_submissions(untrusted, world.registration.bus, [{"request_id": new_id(), "kind": "get"}])
    untrusted.client("sqs").send_message(
        QueueUrl=world.registration.queue_url, MessageBody=json.dumps({"request_id": new_id(), "kind": "get"})
    )
    # But it cannot write (or overwrite) an item itself
    ddb = untrusted.client("dynamodb")
    assert denied(ddb.put_item, TableName=untrusted.table, Item=to_dynamo({"request_id": new_id()}))
    with pytest.raises(ClientError) as refused:
        register(ddb, untrusted.table, new_id(), kind=Kind.GET)
    assert is_access_denied(refused.value)


def test_a_producer_may_not_read_retry_delete_or_consume(world: World) -> None:
    producer = world.as_["ProducerPolicy"]
    ddb = producer.client("dynamodb")
    key = to_dynamo({"request_id": ASKING_KEY})
    assert denied(ddb.get_item, TableName=producer.table, Key=key)
    assert denied(ddb.scan, TableName=producer.table)
    assert denied(
        ddb.update_item,
        TableName=producer.table,
        Key=key,
        UpdateExpression="SET x = :x",
        ExpressionAttributeValues=to_dynamo({":x": 1}),
    )
    assert denied(ddb.delete_item, TableName=producer.table, Key=key)
    assert denied(producer.client("sqs").receive_message, QueueUrl=world.registration.queue_url)
    assert denied(producer.client("sqs").send_message, QueueUrl=world.registration.rejected_url, MessageBody="{}")
    assert denied(producer.client("secretsmanager").get_secret_value, SecretId=producer.secret_id)
    assert denied(producer.client("sns").publish, TopicArn=producer.topic_arn, Message="{}")


def seed_finished(world: World, request_id: str, status: str = "FAILED") -> None:
    admin = world.as_["admin"]
    outcome = {"status": status, "finished_at": NOW, "event_id": f"{request_id}:{status}"}
    admin.client("dynamodb").put_item(
        TableName=admin.table,
        Item=to_dynamo(
            {
                "request_id": request_id,
                "status": status,
                "kind": "get",
                "submitted_at": NOW - 60,
                "outcome": outcome,
                "attempts": 1,
                "transient_errors": 0,
            }
        ),
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def test_an_operator_runs_every_documented_cli_command_with_exactly_the_operator_policy(
    world: World, acting_as: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a pending and a failed request
    pending, failed = new_id(), new_id()
    admin = world.as_["admin"]
    register(admin.client("dynamodb"), admin.table, pending, kind=Kind.GET, submitted_at=NOW)
    seed_finished(world, failed)
    acting_as("OperatorPolicy")
    monkeypatch.setenv("TABLE_NAME", admin.table)
    monkeypatch.setenv("TOPIC_ARN", admin.topic_arn)
    # When the operator runs the read commands, a retry and a republish (docs/operations.md)
    for argv in (["show", pending], ["list"], ["list", "--status", "FAILED", "--json"], ["stats"]):
        code, text = run(capsys, *argv)
        assert code == 0, (argv, text)
    seed_finished(world, republished := new_id(), "COMPLETED")
    code, text = run(capsys, "republish", republished)
    assert code == 0, text  # moto does not evaluate the topic's policy: AWS needs OperatorRole (docs)
    code, text = run(capsys, "retry", failed)
    assert code == 0, text
    assert (stored(world, failed) or {}).get("status") == "PENDING"
    # But register is the producer's: the operator policy alone is refused (docs: add ProducerPolicyArn)
    code, text = run(capsys, "register", new_id())
    assert code == 3 and "AccessDenied" in text
    # And --stack reads the stack's outputs (DescribeStacks; moto answers that there is no such stack)
    assert authorised(world.as_["OperatorPolicy"].client("cloudformation").describe_stacks, StackName="no-such-stack")


def test_an_operator_follows_the_runbook_on_every_alarmed_queue_but_cannot_purge_or_delete_items(
    world: World,
) -> None:
    operator, admin = world.as_["OperatorPolicy"], world.as_["admin"]
    queues = [
        world.failure_url,
        world.schedule_dlq_url,
        world.registration.dead_letter_url,
        world.registration.rejected_url,
    ]
    for url in queues:
        # Given a message in each queue the runbook sends the operator to
        admin.client("sqs").send_message(QueueUrl=url, MessageBody='{"what": "landed"}')
        # When the operator reads it and deletes it once handled
        [message] = operator.client("sqs").receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
        operator.client("sqs").delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        operator.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        # Then both were allowed, and purging (which the runbook no longer asks for) is not
        assert denied(operator.client("sqs").purge_queue, QueueUrl=url)
    # And the redrive from the registration DLQ back to the registration queue
    dlq_arn = LocalArns(admin.table, admin.bucket, admin.topic_arn, admin.secret_id).arn("RegistrationDeadLetterQueue")
    move = operator.client("sqs").start_message_move_task
    assert authorised(move, SourceArn=dlq_arn, DestinationArn=world.registration.queue_arn)
    ddb = operator.client("dynamodb")
    assert denied(ddb.delete_item, TableName=operator.table, Key=to_dynamo({"request_id": "x"}))
    assert denied(ddb.put_item, TableName=operator.table, Item=to_dynamo({"request_id": "x"}))
    assert denied(operator.client("secretsmanager").get_secret_value, SecretId=operator.secret_id)
    assert denied(operator.client("s3").get_object, Bucket=operator.bucket, Key="profile-requests/x")


@pytest.fixture
def poller_runtime(world: World, sim: Simulator, acting_as: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import app

    acting_as("PollerRole")
    admin = world.as_["admin"]
    for name, value in admin.function_env(sim.base_url, file_hosts="localhost").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", world.endpoint)
    monkeypatch.setenv("OUTCOME_BUS_NAME", LOCAL_NAMES["OutcomeBus"])  # the template sets it (issue 19)
    clock = OffsetClock()
    app.use_runtime(Runtime.build(load_settings(), clock=clock))
    yield app
    app.use_runtime(None)


def test_a_sweep_settles_archives_publishes_and_calls_back_with_exactly_the_poller_roles_policies(
    world: World, sim: Simulator, poller_runtime: Any
) -> None:
    # Given three requests registered by waiting workflows (a task token each): one whose answer is final with a
    # file, one the API failed, one still pending
    admin = world.as_["admin"]
    sim.add_file("p.json", FileSpec(b'[{"id": 1}]'))
    done, bad, waiting = new_id(), new_id(), new_id()
    sim.script(done, Step.done_get(sim.public_file_url("p.json")))
    sim.script(bad, Step.error(200, 3005, "Invalid Profile ID"))
    sim.script(waiting, Step.pending())
    for rid in (done, bad, waiting):
        register(admin.client("dynamodb"), admin.table, rid, kind=Kind.GET, task_token=f"{TOKEN}-{rid}")
    # When a sweep runs as the poller's role
    event = {"source": "profile-poller.schedule", "action": "sweep"}
    summary = poller_runtime.lambda_handler(event, LambdaContext())
    # Then it claimed, read the secret, archived the file, published and settled: nothing was refused
    assert summary.get("systemic", 0) == 0 and summary.get("errors", 0) == 0, summary
    assert summary.get("publish_failures", 0) == 0, summary
    finished = stored(world, done) or {}
    assert finished["status"] == "COMPLETED", finished
    assert [f["archived"] for f in finished["outcome"]["files"].values()] == [True]
    assert (stored(world, bad) or {})["status"] == "FAILED"
    assert (stored(world, waiting) or {})["status"] == "PENDING"
    # And the waiting workflows were called back: SendTaskSuccess and SendTaskFailure delivered (an AccessDenied
    # would leave the requests pending with a callback failure), SendTaskHeartbeat for the pending one
    assert summary.get("callbacks_delivered") == 2 and summary.get("callback_failures", 0) == 0, summary
    assert summary.get("heartbeats") == 1 and summary.get("heartbeats_refused", 0) == 0, summary
    assert finished["task_callback"] == {"result": "delivered"}
    assert (stored(world, bad) or {})["task_callback"] == {"result": "delivered"}
    # And each outcome went to SNS and, as an event, to the outcome bus (PutEvents allowed there)
    assert admin.queue_url is not None
    published = [json.loads(m["Message"])["request_id"] for m in drain(admin, admin.queue_url)]
    assert published.count(done) == 1 and published.count(bad) == 1 and waiting not in published
    events = drain(admin, world.outcome_events_url)  # each body: the whole EventBridge event
    by_request = {e["detail"]["request_id"]: e for e in events}
    assert set(by_request) == {done, bad}
    assert {e["detail-type"] for e in events} == {"Profile Request Finished"}
    assert by_request[bad]["detail"]["status"] == "FAILED"


def test_the_poller_role_may_not_write_new_items_scan_or_touch_what_it_does_not_own(world: World) -> None:
    poller = world.as_["PollerRole"]
    ddb = poller.client("dynamodb")
    assert denied(ddb.put_item, TableName=poller.table, Item=to_dynamo({"request_id": "x"}))
    assert denied(ddb.scan, TableName=poller.table)
    assert denied(ddb.delete_item, TableName=poller.table, Key=to_dynamo({"request_id": "x"}))
    assert denied(poller.client("s3").put_object, Bucket=poller.bucket, Key="elsewhere/x", Body=b"x")
    assert denied(poller.client("s3").delete_bucket, Bucket=poller.bucket)
    assert denied(poller.client("secretsmanager").put_secret_value, SecretId=poller.secret_id, SecretString="{}")
    assert denied(poller.client("sqs").send_message, QueueUrl=world.registration.queue_url, MessageBody="{}")


def test_a_registration_batch_runs_with_exactly_the_register_roles_policies(world: World, acting_as: Any) -> None:
    # Given a producer's valid and invalid records on the bus
    producer, admin = world.as_["ProducerPolicy"], world.as_["admin"]
    queued(admin, world.registration.queue_url)  # drop what earlier tests sent to the queue: this batch is ours
    good = new_id()
    put_submissions(producer, world.registration.bus, [{"request_id": good, "kind": "get"}, {"request_id": "#x"}])
    # When the register function consumes them as its role (the event source mapping's receives and deletes too)
    acting_as("RegisterRole")
    function = load_function()
    register_view = world.as_["RegisterRole"]
    settings = RegisterSettings(admin.table, world.registration.rejected_url)
    function.use_runtime(RegisterRuntime.build(settings, clock=lambda: NOW))
    try:
        answers = deliver(register_view, world.registration, function.lambda_handler)
    finally:
        function.use_runtime(None)
    # Then nothing was refused: the good one is registered, the bad one kept with its reason
    assert answers and all(a == {"batchItemFailures": []} for a in answers)
    assert (stored(world, good) or {}).get("status") == "PENDING"
    rejected = queued(admin, world.registration.rejected_url)
    assert [m["MessageAttributes"]["reason"]["StringValue"] for m in rejected]
    # And the role can do nothing else with the table or the queues
    ddb = register_view.client("dynamodb")
    # (UpdateItem is granted: a duplicate registration carrying a task token adopts it on the pending item)
    assert denied(ddb.get_item, TableName=admin.table, Key=to_dynamo({"request_id": good}))
    assert denied(ddb.delete_item, TableName=admin.table, Key=to_dynamo({"request_id": good}))
    assert denied(ddb.scan, TableName=admin.table)
    assert denied(
        register_view.client("sqs").change_message_visibility,
        QueueUrl=world.registration.queue_url,
        ReceiptHandle="x",
        VisibilityTimeout=0,
    )
    assert denied(register_view.client("sns").publish, TopicArn=admin.topic_arn, Message="{}")


def test_every_identity_of_the_template_is_tested_here() -> None:
    arns = LocalArns("t", "b", "arn:aws:sns:eu-west-1:123456789012:t", "arn:aws:secretsmanager:eu-west-1:1:secret:s")
    assert set(rendered_policies(arns)) == set(IDENTITIES)


def test_the_operator_role_registers_and_republishes(
    world: World, acting_as: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an operator who assumed OperatorRole (both policies; docs/deploy.md "Access")
    acting_as("OperatorRole")
    admin = world.as_["admin"]
    monkeypatch.setenv("TABLE_NAME", admin.table)
    monkeypatch.setenv("TOPIC_ARN", admin.topic_arn)
    finished, rid = new_id(), new_id()
    seed_finished(world, finished, "COMPLETED")
    # When it registers a request and republishes an outcome
    # Then both are allowed
    code, text = run(capsys, "register", rid, "--kind", "get")
    assert code == 0, text
    code, text = run(capsys, "republish", finished)
    assert code == 0, text
    assert (stored(world, rid) or {}).get("status") == "PENDING"
