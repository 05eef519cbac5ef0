"""A moto server on 127.0.0.1 for the session (reset per test) and a Campaign API simulator per test.

No test may reach beyond the loopback range: every socket connect and name lookup is checked here, and one to
anywhere else is refused (no packet leaves) and fails the test that made it, even if the code under test
swallowed the error.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import botocore.loaders
import pytest
import requests

from local.context import LambdaContext, OffsetClock
from local.dynalite import dynalite_server, node_available
from local.sftp_server import SftpServer
from local.simulator import Simulator
from local.stack import LocalStack, aws_env, create_stack, moto_server
from profile_poller.entry.config import load_settings
from profile_poller.entry.runtime import Runtime

API_KEY = "integration-key"
ROOT = Path(__file__).resolve().parents[1]

# -- the loopback guard -------------------------------------------------------------------------

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
outside_attempts: list[str] = []  # what tried to leave the machine since the current test started


def is_loopback(host: object) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the wildcard / local address
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text.lower().rstrip(".") in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(text.split("%", 1)[0]).is_loopback
    except ValueError:
        return False  # a name other than localhost would need DNS, which is outside


def _refuse(what: str) -> OSError:
    outside_attempts.append(what)
    return OSError(f"test guard: {what} is outside 127.0.0.0/8; no test may reach it")


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
        raise _refuse(f"connect to {address[0]!r}")
    _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
        raise _refuse(f"connect to {address[0]!r}")
    return _connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, str(_refuse(f"name lookup of {host!r}")))
    return _getaddrinfo(host, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    """Installed before any test module is imported, for the whole session."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _guarded_getaddrinfo
    _share_botocore_data()


# -- botocore's data files, parsed once per process ------------------------------------------------


def _share_botocore_data() -> None:
    """Every botocore Loader with the same search paths shares one cache of parsed data files.

    botocore parses its JSON (service models, endpoint rules, endpoints.json) once per Session: a Lambda container
    makes its sessions once, but the tests make hundreds (every Runtime.build and CLI run), and the parsing was
    most of an AWS integration test's CPU (tests/integration/test_operator_cli.py: 4.3 CPU s, 1.7 with this).
    A Loader already returns the same parsed object to every caller of its session (`instance_cache`), so sharing
    it between sessions hands botocore nothing it does not already get."""
    original = botocore.loaders.Loader.__init__
    if getattr(original, "shared_cache", False):
        return
    caches: dict[tuple[str, ...], dict[Any, Any]] = {}

    def __init__(self: botocore.loaders.Loader, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._cache = caches.setdefault(tuple(self.search_paths), {})  # type: ignore[attr-defined]

    __init__.shared_cache = True  # type: ignore[attr-defined]
    botocore.loaders.Loader.__init__ = __init__  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def only_loopback() -> Iterator[None]:
    """Fails any test that tried to reach an address outside 127.0.0.0/8 (the attempt itself was refused)."""
    outside_attempts.clear()
    yield
    if outside_attempts:
        attempts, outside_attempts[:] = list(outside_attempts), []
        pytest.fail(f"the test tried to leave the machine: {attempts}", pytrace=False)


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


@pytest.fixture(scope="session")
def dynalite_endpoint() -> Iterator[str]:
    """dynalite (npm) for the session, installed with `npm ci` on first use; the tests using it are skipped
    without Node (CI has it). With DYNALITE_ENDPOINT set, the dynalite already listening there (`make mutate` runs
    one per mutant run at a time instead of one per mutant run): each test recreates the table it uses."""
    if not node_available():
        pytest.skip("no Node.js on this machine: the dynalite half of the store tests is skipped")
    if running := os.environ.get("DYNALITE_ENDPOINT"):
        yield running
        return
    with dynalite_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["moto", "dynalite"])
def table_stack(request: pytest.FixtureRequest, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> LocalStack:
    """The stack with its table on moto, then on dynalite (a second, stricter DynamoDB): for the store's tests.
    AWS_ENDPOINT_URL_DYNAMODB points any client built from the environment at the table's emulator."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    if request.param == "moto":
        return create_stack(moto_endpoint, API_KEY)
    endpoint = request.getfixturevalue("dynalite_endpoint")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    return create_stack(moto_endpoint, API_KEY, dynamodb_endpoint=endpoint)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(valid_keys={API_KEY}) as simulator:
        yield simulator


class Stranger:
    """A listener on 127.0.0.2: local, but on no allow-list. It records every request it gets (there should be
    none) and answers 200 with a body, so a client that wrongly went there would get something to archive."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                recorded.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "7")
                self.end_headers()
                self.wfile.write(b"secrets")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.2:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def stranger() -> Iterator[Stranger]:
    listener = Stranger()
    yield listener
    listener.close()


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


@pytest.fixture
def sftp_server() -> Iterator[SftpServer]:
    """asyncssh's SFTP server on 127.0.0.1 serving a temporary folder, with generated host and client keys."""
    with SftpServer() as server:
        yield server
