"""SFTP adapter (paramiko): one SSH connection per host and port in a sweep, bounded parallel transfers, pinned
host keys.

paramiko is imported when the first SFTP file is met, never at module import (the handler's cold import stays
near its floor). Connecting, logging in and opening a channel are in sftp_session.py.
Each endpoint's connection is opened lazily, shared by that endpoint's transfers (one SFTP channel per transfer, at
most `transfers` at once over all endpoints), retired when it dropped or a channel open failed (closed once its
running transfers end, never under them), and closed by end_sweep(). Reads stream with bounded read-ahead (windows
of pipelined 32 KiB reads, paramiko's readv) into the caller's reader; the remote size is checked against the cap
before a byte is read (a file whose stat answer has no size is read plainly to its end, the caller's reader capping
it). Timeouts bound every step (sftp_session.py) and every read. Only the port's errors leave the adapter; they
name the host and the failure, never a key or password.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from ..core.ports import FileMissing, FilePermission, FileRefused, SftpSettings, TransportError
from ..core.sources import within
from .sftp_session import connect, describe, open_sftp, pinned_keys

if TYPE_CHECKING:
    import paramiko

T = TypeVar("T")
PIECE = 32 * 1024  # paramiko's SFTPFile.MAX_REQUEST_SIZE
WINDOW = 4 * 1024 * 1024  # read-ahead per transfer: 128 pipelined 32 KiB requests


class _Connection:
    """One SSH transport to one host:port, its idle SFTP channels, and how many transfers use it. A retired
    connection (dropped, a failed channel open, new settings) takes no new transfer and closes when its last
    transfer ends, so a problem on one endpoint never cuts another endpoint's transfers."""

    def __init__(self, transport: paramiko.Transport, settings: SftpSettings) -> None:
        self.transport = transport
        self.settings = settings
        self.idle: list[paramiko.SFTPClient] = []
        self.users = 0
        self.retired = False
        self.bases: dict[str, str] = {}  # base_dir -> its real path on the server

    def alive(self) -> bool:
        return self.transport.is_active()

    def close(self) -> None:
        for client in self.idle:
            _quietly(client.close)
        self.idle.clear()
        self.transport.close()


class _Download:
    """Streams a remote file with bounded read-ahead: each window of up to WINDOW bytes is asked for at once as
    32 KiB SFTP reads (paramiko's readv, pipelined) and consumed in order, so at most one window is in memory.

    Not paramiko's whole-file SFTPFile.prefetch(): when its outstanding-request limit momentarily drains, it marks
    the prefetch done, falls back to plain reads, and every later read-ahead answer stays in its buffer: a 1 GiB
    copy peaked at 1.1 GB here. Window leftovers are dropped after each window for the same reason."""

    def __init__(self, handle: paramiko.SFTPFile, size: int | None, host: str) -> None:
        self._handle = handle
        self._pos = 0
        self.content_length = size  # None: the server announced no size; read plainly until the end of file
        self.url = f"sftp://{host}"

    def read(self, size: int = -1, /) -> bytes:
        try:
            if self.content_length is None:
                return self._handle.read(WINDOW if size < 0 else min(size, WINDOW))
            return self._read_ahead(size)
        except (OSError, EOFError) as exc:
            raise TransportError(f"SFTP download broke off: {describe(exc)} from {self.url[7:]}") from None
        except Exception as exc:  # paramiko.SSHException: the channel closed mid-file
            raise TransportError(f"SFTP download broke off: {type(exc).__name__} from {self.url[7:]}") from None

    def _read_ahead(self, size: int) -> bytes:
        assert self.content_length is not None
        left = self.content_length - self._pos
        want = left if size < 0 else min(size, left)
        parts: list[bytes] = []
        while want > 0:
            span = min(want, WINDOW)
            chunks = [(at, min(PIECE, self._pos + span - at)) for at in range(self._pos, self._pos + span, PIECE)]
            got = 0
            for data in self._handle.readv(chunks):
                if not data:
                    break  # the file shrank: the caller's reader reports the truncation
                parts.append(data)
                got += len(data)
            self._handle._prefetch_data.clear()  # type: ignore[attr-defined]  # private, see the class note
            self._pos += got
            want = want - span if got == span else 0
        return b"".join(parts)


class SftpFiles:
    def __init__(self, timeout_seconds: float = 10.0, transfers: int = 4, max_bytes: int | None = None) -> None:
        self._timeout = timeout_seconds
        self._slots = threading.BoundedSemaphore(transfers)
        self._max_bytes = max_bytes
        self._lock = threading.Lock()  # guards the pool and every connection's idle list and users
        self._pool: dict[tuple[str, int], _Connection] = {}
        self._connecting: dict[tuple[str, int], threading.Lock] = {}  # one connect at a time per endpoint

    # -- the port --------------------------------------------------------------------------------

    @contextmanager
    def open_file(self, host: str, port: int, path: str, settings: SftpSettings) -> Iterator[_Download]:
        """Raises only the port's errors: TransportError, FileMissing, FileRefused, SourceLoginRefused."""
        if not pinned_keys(settings.host_keys, host, port):  # this file's problem, not the sweep's
            raise FileRefused(f"no pinned host key for {host}:{port} in the secret's sftp.host_keys", host=host)
        with self._slots:
            client, conn = self._client(host, port, settings)
            keep = False
            try:
                real = self._resolve(client, conn, host, path, settings.base_dir)
                size = self._size(client, host, real)
                handle = self._open(client, host, real)
                try:
                    _call(lambda: handle.settimeout(self._timeout), host, "open")
                    yield _Download(handle, size, host)
                    keep = True
                finally:
                    _quietly(handle.close)
            finally:
                self._give_back(conn, client, keep)

    def end_sweep(self) -> None:
        with self._lock:
            conns, self._pool = list(self._pool.values()), {}
            for conn in conns:
                conn.retired = True
        for conn in conns:
            _quietly(conn.close)

    # -- connections and channels ------------------------------------------------------------------

    def _client(self, host: str, port: int, settings: SftpSettings) -> tuple[paramiko.SFTPClient, _Connection]:
        """An SFTP channel on the endpoint's connection; a connection whose channel open fails is retired (its
        running transfers finish) and a new one is tried once."""
        failed: _Connection | None = None
        for attempt in range(2):
            conn = self._connection(host, port, settings, failed)
            with self._lock:
                if conn.idle:
                    return conn.idle.pop(), conn
            try:
                return open_sftp(conn.transport, self._timeout), conn
            except Exception as exc:  # OSError, EOFError, SSHException, TimeoutError, anything paramiko raises
                self._give_back(conn, None, keep=False)
                failed = conn
                if attempt:
                    raise TransportError(f"SFTP channel to {host} failed: {describe(exc)}") from None
        raise AssertionError("unreachable")

    def _connection(self, host: str, port: int, settings: SftpSettings, failed: _Connection | None) -> _Connection:
        """The endpoint's live connection (counted as used), opened when there is none."""
        key = (host, port)
        with self._lock:
            connecting = self._connecting.setdefault(key, threading.Lock())
        with connecting:
            with self._lock:
                conn = self._pool.get(key)
                if conn is not None and (conn is failed or conn.settings != settings or not conn.alive()):
                    self._retire(key, conn)
                    conn = None
                if conn is not None:
                    conn.users += 1
                    return conn
            conn = _Connection(connect(host, port, settings, self._timeout), settings)
            with self._lock:
                conn.users += 1
                self._pool[key] = conn
            return conn

    def _retire(self, key: tuple[str, int], conn: _Connection) -> None:
        """Under the lock: no new transfer on `conn`; closed now if unused, else by its last transfer."""
        if self._pool.get(key) is conn:
            del self._pool[key]
        conn.retired = True
        if conn.users == 0:
            _quietly(conn.close)

    def _give_back(self, conn: _Connection, client: paramiko.SFTPClient | None, keep: bool) -> None:
        with self._lock:
            conn.users -= 1
            if client is not None and keep and not conn.retired and conn.alive():
                conn.idle.append(client)
                client = None
            close = conn.retired and conn.users == 0
        if client is not None:
            _quietly(client.close)
        if close:
            _quietly(conn.close)

    # -- one file ----------------------------------------------------------------------------------

    def _resolve(self, client: paramiko.SFTPClient, conn: _Connection, host: str, path: str, base_dir: str) -> str:
        """The server's canonical path (symlinks resolved) must still lie under base_dir's canonical path (itself
        perhaps a symlink on the server)."""
        real = _call(lambda: client.normalize(path), host, "resolving the path")
        base = base_dir.rstrip("/") or "/"
        real_base = conn.bases.get(base)
        if real_base is None:
            real_base = base if base == "/" else _call(lambda: client.normalize(base), host, "resolving base_dir")
            conn.bases[base] = real_base
        if not within(real, real_base):
            raise FileRefused(f"SFTP path resolves outside base_dir {base!r} (a symlink?)", host=host)
        return real

    def _size(self, client: paramiko.SFTPClient, host: str, path: str) -> int | None:
        """The announced size, None when the server's answer has none (optional in SFTP v3): then the bytes are
        streamed and counted, and the cap is checked as they come."""
        attrs = _call(lambda: client.stat(path), host, "stat")
        if attrs.st_mode is not None and not stat.S_ISREG(attrs.st_mode):
            raise FileRefused("SFTP path is not a regular file", host=host)
        if attrs.st_size is None:
            return None
        size = int(attrs.st_size)
        if self._max_bytes is not None and size > self._max_bytes:
            raise FileRefused(f"file is {size} bytes, over the {self._max_bytes}-byte cap (MAX_FILE_BYTES)", host=host)
        return size

    def _open(self, client: paramiko.SFTPClient, host: str, path: str) -> paramiko.SFTPFile:
        return _call(lambda: client.open(path, "rb"), host, "open")


def _call(action: Callable[[], T], host: str, what: str) -> T:
    """Run one SFTP request, mapping its failure onto the domain errors."""
    try:
        return action()
    except FileNotFoundError:
        raise FileMissing(f"file not found on SFTP host {host}") from None
    except PermissionError:
        raise FilePermission(f"permission denied on SFTP host {host}", host=host) from None
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise FileMissing(f"file not found on SFTP host {host}") from None
        if exc.errno is None and not isinstance(exc, socket.timeout | TimeoutError):  # an SFTP status "failure"
            raise FileRefused(f"SFTP host {host} refused {what}", host=host) from None
        raise TransportError(f"SFTP {what} on {host} failed: {describe(exc)}") from None
    except Exception as exc:  # EOFError, paramiko's SSHException, anything else: never past the adapter
        raise TransportError(f"SFTP {what} on {host} failed: {describe(exc)}") from None


def _quietly(action: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may fail; nothing to do about it
        action()
