"""What a waiting workflow and the poller's callbacks may do (issue 19), with exactly the template's policies, on the
IAM-enforcing moto server of this folder (conftest.py's `world`: one IAM user per identity): a workflow holding
WorkflowPolicy registers on the queue and does nothing else, WorkflowPolicy grants nothing EventProducerPolicy does
not, and the poller puts events on its own outcome bus only.

moto's server authorises EventBridge and Step Functions calls against "*" (it names no bus): the bus scoping is asked
of moto's policy engine with each bus's ARN (local/policies.py `identity_permits`), on the rendered policies."""

from __future__ import annotations

import json
from typing import Any

from local.policies import identity_permits
from local.registration import queued
from local.stack import STACK
from profile_poller.adapters.dynamo_items import to_dynamo
from tests.integration.iam_policies.world import TOKEN, World, denied, new_id


def test_the_poller_role_puts_events_on_the_outcome_bus_and_no_other(world: World) -> None:
    # moto's server authorises PutEvents against "*" (the bus is named in the body, not the request's resource),
    # so the bus scoping is asked of moto's policy engine with each bus's ARN, on the poller's rendered policies
    poller = world.documents["PollerRole"]
    outcome_bus = world.arns.arn("OutcomeBus")
    default_bus = outcome_bus.rsplit("/", 1)[0] + "/default"
    assert identity_permits(poller, "events:PutEvents", outcome_bus)
    assert not identity_permits(poller, "events:PutEvents", world.arns.arn("RegistrationBus"))
    assert not identity_permits(poller, "events:PutEvents", default_bus)
    assert not identity_permits(poller, "events:PutEvents", outcome_bus.replace(STACK, "another-stack"))
    # And the Step Functions callbacks are on "*": IAM cannot scope a task token to a resource
    for action in ("states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"):
        assert identity_permits(poller, action, "*")
    assert not identity_permits(poller, "states:StartExecution", "*")


def test_a_workflow_holding_exactly_the_workflow_policy_registers_on_the_queue_and_nothing_else(world: World) -> None:
    # Given a Step Functions workflow's role holding exactly WorkflowPolicy (docs/producers.md)
    workflow = world.as_["WorkflowPolicy"]
    sqs = workflow.client("sqs")
    # When its sqs:sendMessage.waitForTaskToken task sends the bare detail with its token to the registration queue
    rid = new_id()
    detail = {"request_id": rid, "kind": "get", "correlation": "wf", "task_token": f"{TOKEN}-{rid}"}
    sqs.send_message(QueueUrl=world.registration.queue_url, MessageBody=json.dumps(detail))
    # Then it was allowed; and nothing else is: not the bus, the other queues, the table, the topic, the callbacks
    assert denied(
        workflow.client("events").put_events,
        Entries=[
            {
                "Source": "wf",
                "DetailType": "Profile Request Submitted",
                "Detail": json.dumps(detail),
                "EventBusName": world.registration.bus,
            }
        ],
    )
    for url in (world.registration.dead_letter_url, world.registration.rejected_url, world.failure_url):
        assert denied(sqs.send_message, QueueUrl=url, MessageBody="{}")
    assert denied(sqs.receive_message, QueueUrl=world.registration.queue_url)
    assert denied(sqs.purge_queue, QueueUrl=world.registration.queue_url)
    ddb = workflow.client("dynamodb")
    assert denied(ddb.put_item, TableName=workflow.table, Item=to_dynamo({"request_id": new_id()}))
    assert denied(ddb.get_item, TableName=workflow.table, Key=to_dynamo({"request_id": rid}))
    assert denied(workflow.client("sns").publish, TopicArn=workflow.topic_arn, Message="{}")
    assert denied(workflow.client("stepfunctions").send_task_success, taskToken=TOKEN, output="{}")
    assert denied(workflow.client("secretsmanager").get_secret_value, SecretId=workflow.secret_id)
    # And the message is the registration function's to take (other tests' messages may wait beside it)
    bodies = [json.loads(m["Body"]) for m in queued(world.as_["admin"], world.registration.queue_url)]
    assert detail in bodies


def test_everything_the_workflow_policy_allows_the_event_producer_policy_allows_too(world: World) -> None:
    # docs/deploy.md: WorkflowPolicy is EventProducerPolicy without the bus door; a workflow may hold either
    workflow, events = world.documents["WorkflowPolicy"], world.documents["EventProducerPolicy"]
    queue = world.arns.arn("RegistrationQueue")
    assert identity_permits(workflow, "sqs:SendMessage", queue) and identity_permits(events, "sqs:SendMessage", queue)
    bus = world.arns.arn("RegistrationBus")
    assert identity_permits(events, "events:PutEvents", bus) and not identity_permits(workflow, "events:PutEvents", bus)
    granted = {
        (action, resource)
        for document in workflow
        for statement in document["Statement"]
        for action in _listed(statement["Action"])
        for resource in _listed(statement["Resource"])
    }
    assert granted and all(identity_permits(events, action, resource) for action, resource in granted)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
