"""Producers (ProducerPolicy, EventProducerPolicy; docs/producers.md): what each may do, and what it may not."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.faultproxy import FaultProxy, Rule, ops
from local.registration import put_submissions
from local.stack import REGION
from profile_poller.adapters.dynamo_items import ASKING_KEY, to_dynamo
from profile_poller.core.model import Kind
from profile_poller.entry.producer import register
from tests.integration.iam_policies.world import NOW, World, denied, is_access_denied, new_id, stored


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
