"""An SFTP server that goes silent at a step after the TCP connect: the login, the opening of the session channel, or
the SFTP version exchange once the `sftp` subsystem has started. Every step is bounded by the adapter's timeout, so
the sweep goes on."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import asyncssh
import pytest

from local.sftp_server import BASE_DIR, PASSWORD, USERNAME
from profile_poller.adapters.sftp import SftpFiles
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.ports import SftpSettings, SourceLoginRefused, TransportError

TIMEOUT = 2.0  # the login and key exchange must fit in it on a loaded machine (0.5 failed once at load 17)
ED25519_LINE = " ".join(asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()[:2])
BOUND = 10 * TIMEOUT  # below paramiko's own defaults (30 s for a login, none for the version exchange)


class SilentServer:
    """asyncssh on 127.0.0.1 that never answers the login (`login`), or logs in and never answers the request for a
    session channel (`channel`: its event loop is held, so the whole server is silent), or logs in, starts the
    `sftp` subsystem and then never sends the SFTP version (`version`). Silent until stopped."""

    def __init__(self, step: str) -> None:
        self.step = step
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="silent-sftp")
        self._stop: asyncio.Event | None = None
        self._server: Any = None
        self._connections: list[asyncssh.SSHServerConnection] = []
        self._release = threading.Event()  # lets a held event loop (`channel`) go on when the server stops

    def __enter__(self) -> SilentServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()

        async def close() -> None:
            assert self._stop is not None
            self._stop.set()
            self._server.close()
            for conn in self._connections:
                conn.abort()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _listen(self) -> None:
        self._stop = stop = asyncio.Event()
        owner = self

        class Session(asyncssh.SSHServerSession[bytes]):
            def subsystem_requested(self, subsystem: str) -> bool:
                return True  # started; then not a byte of SFTP

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                owner._connections.append(conn)

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            async def validate_password(self, username: str, password: str) -> bool:
                if owner.step == "login":
                    await stop.wait()
                    return False
                return username == USERNAME and password == PASSWORD

            def session_requested(self) -> asyncssh.SSHServerSession[bytes]:
                if owner.step == "channel":
                    owner._release.wait()  # holds the server's loop: no answer to anything until it stops
                return Session()

        self._server = await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[self.host_key], server_factory=Server, allow_scp=False
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def settings(self) -> SftpSettings:
        kind, blob = self.host_key.export_public_key().decode().split()[:2]
        return parse_sftp_section(
            {
                "host": "127.0.0.1",
                "port": self.port,
                "username": USERNAME,
                "password": PASSWORD,
                "host_keys": [f"[127.0.0.1]:{self.port} {kind} {blob}"],
                "base_dir": BASE_DIR,
            }
        )


def bounded(action: Callable[[], None]) -> BaseException | None:
    """Run `action` in a thread; the error it ended with, or fail the test if it is still waiting after BOUND
    (a thread, so that a wait with no timeout fails the test instead of hanging it)."""
    ended: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # handed to the test
            ended.append(exc)
        else:
            ended.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(BOUND)
    assert ended, f"still waiting after {BOUND} s: a step without a timeout"
    return ended[0]


def open_one(server: SilentServer) -> Callable[[], None]:
    def action() -> None:
        files = SftpFiles(timeout_seconds=TIMEOUT, transfers=1)
        try:
            with files.open_file("127.0.0.1", server.port, f"{BASE_DIR}/a.csv", server.settings()):
                pass
        finally:
            files.end_sweep()

    return action


@pytest.fixture(params=["login", "channel", "version"])
def silent(request: pytest.FixtureRequest) -> Iterator[SilentServer]:
    with SilentServer(request.param) as server:
        yield server


def test_a_server_silent_after_the_connect_fails_the_file_within_the_timeout(silent: SilentServer) -> None:
    # Given a server that accepts the connection, then goes silent at the login or after starting `sftp`
    # When a file is asked for, Then the adapter gives up within its timeouts with a domain error
    error = bounded(open_one(silent))
    assert isinstance(error, TransportError | SourceLoginRefused), repr(error)
    assert "127.0.0.1" in str(error)


def test_a_version_exchange_that_never_comes_is_a_transient_timeout() -> None:
    with SilentServer("version") as server:
        error = bounded(open_one(server))
    assert isinstance(error, TransportError) and "timed out" in str(error)


def test_a_login_that_is_never_answered_is_a_transient_timeout_not_a_refusal() -> None:
    with SilentServer("login") as server:
        error = bounded(open_one(server))
    assert isinstance(error, TransportError), repr(error)  # transient: no secret re-read, no stop for the sweep
    assert "timed out" in str(error)


def test_a_session_channel_that_is_never_opened_is_a_transient_timeout() -> None:
    with SilentServer("channel") as server:
        error = bounded(open_one(server))
    assert isinstance(error, TransportError), repr(error)


def test_a_tcp_connect_that_never_completes_is_a_transient_timeout() -> None:
    # Given a port whose accept queue is full: the kernel drops the next SYN, so a connect never completes
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=BOUND):  # fills the queue (nobody accepts)
            settings = parse_sftp_section(
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "username": USERNAME,
                    "password": PASSWORD,
                    "host_keys": [f"[127.0.0.1]:{port} {ED25519_LINE}"],
                }
            )
            files = SftpFiles(timeout_seconds=TIMEOUT)

            def action() -> None:
                with files.open_file("127.0.0.1", port, f"{BASE_DIR}/a.csv", settings):
                    pass

            # When a file there is asked for, Then the connect gives up within the timeout, as transient
            error = bounded(action)
    assert isinstance(error, TransportError)
    assert str(error) == f"SFTP connect to 127.0.0.1:{port} failed: timed out"
