"""An in-memory SFTP endpoint for the adapter's unit tests: `FakeSftp.install(monkeypatch)` replaces the SSH connect
and the channel open of adapters/sftp.py (the paramiko seams of sftp_session.py), so the pool, the checks before a
read and the read-ahead run without a server. Every connection, channel, stat, open, read and close is recorded."""

from __future__ import annotations

import posixpath
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from profile_poller.adapters import sftp
from profile_poller.core.ports import SftpSettings, TransportError

HOST = "sftp.example"
SETTINGS = SftpSettings(host=HOST, username="u", password="pw", host_keys=(f"{HOST} ssh-ed25519 AAAA",))
ON_2222 = SftpSettings(host=HOST, username="u", password="pw", host_keys=(f"[{HOST}]:2222 ssh-ed25519 AAAA",))


@dataclass
class Attrs:
    st_size: int | None
    st_mode: int | None = stat.S_IFREG | 0o644


class FakeHandle:
    def __init__(self, data: bytes, fail: BaseException | None = None) -> None:
        self.data = data
        self.fail = fail
        self.pos = 0
        self.timeout: float | None = None
        self.readv_calls: list[list[tuple[int, int]]] = []
        self.read_sizes: list[int] = []
        self._prefetch_data: dict[int, bytes] = {}
        self.closed = False

    def settimeout(self, timeout: float) -> None:
        self.timeout = timeout

    def readv(self, chunks: list[tuple[int, int]]) -> Iterator[bytes]:
        self.readv_calls.append(list(chunks))
        if self.fail is not None:
            raise self.fail
        for at, size in chunks:
            self._prefetch_data[at] = b"left over"
            yield self.data[at : at + size]

    def read(self, size: int) -> bytes:
        self.read_sizes.append(size)
        if self.fail is not None:
            raise self.fail
        piece = self.data[self.pos : self.pos + size]
        self.pos += len(piece)
        return piece

    def close(self) -> None:
        self.closed = True


class FakeClient:
    """One SFTP channel on a FakeTransport."""

    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport
        self.closed = False

    @property
    def server(self) -> FakeSftp:
        return self.transport.server

    def normalize(self, path: str) -> str:
        self.server.normalized.append(path)
        self.server.fail("normalize", path)
        real = posixpath.normpath(path)
        for link, target in self.server.links.items():
            if real == link or real.startswith(link + "/"):
                return target + real[len(link) :]
        return real

    def stat(self, path: str) -> Attrs:
        self.server.fail("stat", path)
        if path not in self.server.files:
            raise FileNotFoundError(path)
        return self.server.attrs.get(path, Attrs(len(self.server.files[path])))

    def open(self, path: str, mode: str) -> FakeHandle:
        assert mode == "rb"
        self.server.fail("open", path)
        self.server.opened.append(path)
        handle = FakeHandle(self.server.files[path], self.server.read_fails.get(path))
        self.server.handles.append(handle)
        return handle

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeTransport:
    server: FakeSftp
    endpoint: tuple[str, int]
    settings: SftpSettings
    timeout: float
    active: bool = True
    closed: bool = False
    channels: list[FakeClient] = field(default_factory=list)

    def is_active(self) -> bool:
        return self.active and not self.closed

    def close(self) -> None:
        self.closed = True
        if self.server.close_fails:
            raise EOFError("the connection is already gone")


@dataclass
class FakeSftp:
    files: dict[str, bytes] = field(default_factory=dict)
    attrs: dict[str, Attrs] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # a folder -> where it really is
    errors: dict[tuple[str, str], BaseException] = field(default_factory=dict)  # (request, path) -> what it raises
    read_fails: dict[str, BaseException] = field(default_factory=dict)
    refuse_channels: int = 0  # the next N channel opens fail
    refuse_connects: int = 0  # the next N connects fail
    close_fails: bool = False  # closing a connection raises (it was already broken)
    held: dict[int, threading.Event] = field(default_factory=dict)  # a connect to that port waits for the event
    dialling: threading.Event = field(default_factory=threading.Event)  # set when a held connect has begun
    transports: list[FakeTransport] = field(default_factory=list)
    normalized: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    handles: list[FakeHandle] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeSftp:
        monkeypatch.setattr(sftp, "connect", self._connect)
        monkeypatch.setattr(sftp, "open_sftp", self._open_sftp)
        return self

    def _connect(self, host: str, port: int, settings: SftpSettings, timeout: float) -> Any:
        if port in self.held:
            self.dialling.set()
            assert self.held[port].wait(10), "the held connect was never released"
        if self.refuse_connects:
            self.refuse_connects -= 1
            raise TransportError(f"SFTP connect to {host}:{port} failed: ConnectionRefusedError")
        transport = FakeTransport(self, (host, port), settings, timeout)
        self.transports.append(transport)
        return transport

    def _open_sftp(self, transport: Any, timeout: float) -> Any:
        assert isinstance(transport, FakeTransport) and timeout == transport.timeout
        if self.refuse_channels:
            self.refuse_channels -= 1
            raise EOFError
        client = FakeClient(transport)
        transport.channels.append(client)
        return client

    def fail(self, request: str, path: str) -> None:
        error = self.errors.get((request, path))
        if error is not None:
            raise error

    def put(self, path: str, data: bytes) -> str:
        self.files[path] = data
        return path
