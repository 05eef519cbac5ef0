"""Fixtures for tests that put the fault proxy between the code under test and moto (import them by name)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from local.faultproxy import FaultProxy
from local.stack import REGION, LocalStack


@pytest.fixture
def proxy(stack: LocalStack) -> Iterator[FaultProxy]:
    """A fault proxy in front of this test's moto stack, with no rules until the test sets some."""
    with FaultProxy(stack.endpoint, seed=3) as running:
        yield running


def client_via(proxy: FaultProxy, service: Any, attempts: int = 3, read_timeout: float = 5.0) -> Any:
    return boto3.client(
        service,
        endpoint_url=proxy.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": attempts},
            read_timeout=read_timeout,
            connect_timeout=1,
        ),
    )
