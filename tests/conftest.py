"""A moto server on 127.0.0.1 for the session (reset per test) and a Campaign API simulator per test."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.context import LambdaContext, OffsetClock
from local.simulator import Simulator
from local.stack import LocalStack, aws_env, create_stack, moto_server
from profile_poller.entry.config import load_settings
from profile_poller.entry.runtime import Runtime

API_KEY = "integration-key"
ROOT = Path(__file__).resolve().parents[1]


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
    from profile_poller.entry.observability import logger

    target = logging.getLogger(logger.name)
    capture = _Lines(logger.registered_formatter)
    target.addHandler(capture)
    yield capture.lines
    target.removeHandler(capture)


class Ticks:
    """Runs the real handler module as Lambda would, one scheduled tick at a time; time jumps an hour between."""

    def __init__(self, clock: OffsetClock) -> None:
        self.clock = clock

    def __call__(self, ticks: int = 1, event_file: str = "schedule.json") -> list[dict[str, Any]]:
        import app

        event = json.loads((ROOT / "events" / event_file).read_text())
        summaries = []
        for _ in range(ticks):
            summaries.append(app.lambda_handler(event, LambdaContext()))
            self.clock.advance(3600)
        return summaries


@pytest.fixture
def handler_ticks(
    stack: LocalStack, sim: Simulator, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Ticks]:
    """The handler wired to this test's moto stack and simulator; `@pytest.mark.env(NAME="value")` overrides."""
    import app

    marker = request.node.get_closest_marker("env")
    overrides = marker.kwargs if marker else {}
    for name, value in stack.function_env(sim.base_url, file_hosts="localhost", **overrides).items():
        monkeypatch.setenv(name, value)
    clock = OffsetClock()
    app.use_runtime(Runtime.build(load_settings(), clock=clock))
    yield Ticks(clock)
    app.use_runtime(None)
