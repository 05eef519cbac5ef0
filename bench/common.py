"""Shared set-up for the benchmarks: a moto server, dynalite (the table) and a simulator, each in its own process."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import requests

from local import sim_server
from local.stack import LocalStack, aws_env, create_stack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.entry.config import Settings, load_settings

KEY = "bench-key"


@contextmanager
def simulator_process(delay: float = 0.0, big: str | None = None, file_value: str | None = None) -> Iterator[str]:
    """The Campaign API simulator in a child process; yields its base URL."""
    with sim_server.simulator_process(KEY, delay, big, file_value) as arrivals:
        yield arrivals.base_url


def fresh_stack(endpoint: str, dynamodb_endpoint: str | None = None) -> LocalStack:
    """A reset moto server with the stack; the table on `dynamodb_endpoint` (dynalite) when given. The process
    environment points boto3 (and the bench's child processes) at both."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=30).raise_for_status()
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    os.environ.update(aws_env(endpoint, dynamodb_endpoint))
    return create_stack(endpoint, KEY, dynamodb_endpoint=dynamodb_endpoint)


def settings_for(stack: LocalStack, base_url: str, **overrides: str) -> Settings:
    env = stack.function_env(base_url, RATE_LIMIT_PER_SECOND="100000", **overrides)
    return load_settings(env)


def put_items(stack: LocalStack, items: Iterable[dict[str, Any]]) -> None:
    ddb = stack.client("dynamodb")
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append({"PutRequest": {"Item": to_dynamo(item)}})
        if len(batch) == 25:
            ddb.batch_write_item(RequestItems={stack.table: batch})
            batch = []
    if batch:
        ddb.batch_write_item(RequestItems={stack.table: batch})


def pending(request_id: str, submitted_at: int) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "status": "PENDING",
        "due_shard": "0",
        "next_check_at": 0,
        "submitted_at": submitted_at,
        "kind": "update",
    }
