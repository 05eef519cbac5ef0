"""What the CLI works on: the table from --table, else TABLE_NAME, else --stack NAME (the stack's outputs); the
outcomes topic (republish only) from --topic, else TOPIC_ARN, else the same stack."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ..aws import AwsPolicy
from ..config import ConfigError, load_due_shards

TABLE_OUTPUT = "RequestsTableName"
TOPIC_OUTPUT = "OutcomesTopicArn"


def stack_output(client: Any, stack: str, name: str) -> str:
    try:
        stacks = client.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise ConfigError(f"stack {stack!r}: {exc.response.get('Error', {}).get('Message', exc)}") from None
    except BotoCoreError as exc:
        raise ConfigError(f"stack {stack!r} could not be read: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for s in stacks for o in s.get("Outputs", [])}
    if name not in outputs:
        raise ConfigError(f"stack {stack!r} has no output {name}; is it a profile-poller stack?")
    return str(outputs[name])


@dataclass
class Target:
    table: str
    shards: int
    dynamodb: Any
    stack: str | None = None
    topic: str | None = None
    session: Any = field(default_factory=boto3.session.Session)

    def sns(self) -> Any:
        return AwsPolicy().client(self.session, "sns", 2)

    def topic_arn(self) -> str:
        if not self.topic and self.stack:
            self.topic = stack_output(AwsPolicy().client(self.session, "cloudformation", 2), self.stack, TOPIC_OUTPUT)
        if not self.topic:
            raise ConfigError("no topic: give --topic ARN or --stack NAME, or set TOPIC_ARN")
        return self.topic


def resolve(
    table: str | None, stack: str | None, topic: str | None = None, env: Mapping[str, str] | None = None
) -> Target:
    env = os.environ if env is None else env
    aws = AwsPolicy()
    session = boto3.session.Session()
    table = table or env.get("TABLE_NAME", "").strip() or None
    if not table and stack:
        table = stack_output(aws.client(session, "cloudformation", 2), stack, TABLE_OUTPUT)
    if not table:
        raise ConfigError("no table: give --table NAME or --stack NAME, or set TABLE_NAME")
    topic = topic or env.get("TOPIC_ARN", "").strip() or None
    return Target(table, load_due_shards(env), aws.client(session, "dynamodb", 4), stack, topic, session)
