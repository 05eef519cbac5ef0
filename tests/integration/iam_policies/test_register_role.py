"""The register function's role (RegisterRole): a registration batch with exactly its policies, and nothing else."""

from __future__ import annotations

from typing import Any

from local.registration import deliver, put_submissions, queued
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.entry.config import RegisterSettings
from profile_poller.entry.register import RegisterRuntime
from tests.integration.iam_policies.world import NOW, World, denied, new_id, stored
from tests.integration.test_registration import load_function


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
