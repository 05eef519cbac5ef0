"""Which table the CLI works on: --table, else TABLE_NAME, else --stack NAME (the stack's outputs)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ..aws import AwsPolicy
from ..config import ConfigError, load_due_shards

TABLE_OUTPUT = "RequestsTableName"


@dataclass(frozen=True)
class Target:
    table: str
    shards: int
    dynamodb: Any


def stack_output(client: Any, stack: str, name: str) -> str:
    try:
        stacks = client.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        raise ConfigError(f"stack {stack!r}: {exc.response.get('Error', {}).get('Message', exc)}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for s in stacks for o in s.get("Outputs", [])}
    if name not in outputs:
        raise ConfigError(f"stack {stack!r} has no output {name}; is it a profile-poller stack?")
    return str(outputs[name])


def resolve(table: str | None, stack: str | None, env: Mapping[str, str] | None = None) -> Target:
    env = os.environ if env is None else env
    aws = AwsPolicy()
    session = boto3.session.Session()
    if not table:
        table = env.get("TABLE_NAME", "").strip() or None
    if not table and stack:
        try:
            table = stack_output(aws.client(session, "cloudformation", 2), stack, TABLE_OUTPUT)
        except BotoCoreError as exc:
            raise ConfigError(f"stack {stack!r} could not be read: {exc}") from None
    if not table:
        raise ConfigError("no table: give --table NAME or --stack NAME, or set TABLE_NAME")
    return Target(table, load_due_shards(env), aws.client(session, "dynamodb", 4))
