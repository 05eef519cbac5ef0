"""A moto server on 127.0.0.1 for the session (reset per test) and a Campaign API simulator per test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
import requests

from local.simulator import Simulator
from local.stack import LocalStack, aws_env, create_stack, moto_server

API_KEY = "integration-key"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    saved = dict(os.environ)
    with moto_server() as endpoint:
        os.environ.update(aws_env(endpoint))
        yield endpoint
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def stack(moto_endpoint: str) -> LocalStack:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    return create_stack(moto_endpoint, API_KEY)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(valid_keys={API_KEY}) as simulator:
        yield simulator


class _Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.lines: list[str] = []
        if formatter is not None:
            self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every line the handler logs, formatted exactly as Lambda would receive it (Powertools JSON)."""
    from profile_poller.observability import logger

    target = logging.getLogger(logger.name)
    capture = _Lines(logger.registered_formatter)
    target.addHandler(capture)
    yield capture.lines
    target.removeHandler(capture)
