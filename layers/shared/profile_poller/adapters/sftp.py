"""SFTP adapter (paramiko): one SSH connection per sweep, bounded parallel transfers, pinned host keys.

paramiko is imported when the first SFTP file is met, never at module import (the handler's cold import stays
near its floor). Connecting, logging in and opening a channel are in sftp_session.py.
The connection is opened lazily, shared by every transfer of the sweep (one SFTP channel per
transfer, at most `transfers` at once), re-opened once if it dropped, and closed by end_sweep(). Reads stream
with bounded read-ahead (windows of pipelined 32 KiB reads, paramiko's readv) into the caller's reader; the
remote size is checked against the cap before a byte is read. Timeouts bound every step (sftp_session.py) and
every read. Errors name the host and the failure, never a key or password.
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
from .sftp_session import connect, describe, open_sftp, ssh_errors

if TYPE_CHECKING:
    import paramiko

T = TypeVar("T")
PIECE = 32 * 1024  # paramiko's SFTPFile.MAX_REQUEST_SIZE
WINDOW = 4 * 1024 * 1024  # read-ahead per transfer: 128 pipelined 32 KiB requests


class _Connection:
    """One SSH transport and its idle SFTP channels."""

    def __init__(self, transport: paramiko.Transport, settings: SftpSettings, host: str, port: int) -> None:
        self.transport = transport
        self.settings = settings
        self.target = (host, port)
        self.idle: list[paramiko.SFTPClient] = []

    def alive(self) -> bool:
        return self.transport.is_active()

    def close(self) -> None:
        for client in self.idle:
            client.close()
        self.idle.clear()
        self.transport.close()


class _Download:
    """Streams a remote file with bounded read-ahead: each window of up to WINDOW bytes is asked for at once as
    32 KiB SFTP reads (paramiko's readv, pipelined) and consumed in order, so at most one window is in memory.

    Not paramiko's whole-file SFTPFile.prefetch(): when its outstanding-request limit momentarily drains, it marks
    the prefetch done, falls back to plain reads, and every later read-ahead answer stays in its buffer: a 1 GiB
    copy peaked at 1.1 GB here. Window leftovers are dropped after each window for the same reason."""

    def __init__(self, handle: paramiko.SFTPFile, size: int, host: str) -> None:
        self._handle = handle
        self._pos = 0
        self.content_length = size
        self.url = f"sftp://{host}"

    def read(self, size: int = -1, /) -> bytes:
        left = self.content_length - self._pos
        want = left if size < 0 else min(size, left)
        parts: list[bytes] = []
        try:
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
        except (OSError, EOFError) as exc:
            raise TransportError(f"SFTP download broke off: {describe(exc)} from {self.url[7:]}") from None
        except Exception as exc:  # paramiko.SSHException: the channel closed mid-file
            raise TransportError(f"SFTP download broke off: {type(exc).__name__} from {self.url[7:]}") from None


class SftpFiles:
    def __init__(self, timeout_seconds: float = 10.0, transfers: int = 4, max_bytes: int | None = None) -> None:
        self._timeout = timeout_seconds
        self._slots = threading.BoundedSemaphore(transfers)
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._conn: _Connection | None = None

    # -- the port --------------------------------------------------------------------------------

    @contextmanager
    def open_file(self, host: str, port: int, path: str, settings: SftpSettings) -> Iterator[_Download]:
        with self._slots:
            client, conn = self._client(host, port, settings)
            keep = False
            try:
                real = self._resolve(client, host, path, settings.base_dir)
                size = self._size(client, host, real)
                handle = self._open(client, host, real)
                try:
                    handle.settimeout(self._timeout)
                    yield _Download(handle, size, host)
                    keep = True
                finally:
                    _quietly(handle.close)
            finally:
                self._give_back(conn, client, keep)

    def end_sweep(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            _quietly(conn.close)

    # -- connection and channels -----------------------------------------------------------------

    def _client(self, host: str, port: int, settings: SftpSettings) -> tuple[paramiko.SFTPClient, _Connection]:
        """An SFTP channel on the sweep's connection; a dropped connection is re-opened once."""
        for attempt in range(2):
            conn = self._connection(host, port, settings, fresh=attempt > 0)
            with self._lock:
                if conn.idle:
                    return conn.idle.pop(), conn
            try:
                return self._channel(conn), conn
            except (OSError, EOFError, ssh_errors()) as exc:
                if attempt:
                    raise TransportError(f"SFTP channel to {host} failed: {describe(exc)}") from None
        raise AssertionError("unreachable")

    def _connection(self, host: str, port: int, settings: SftpSettings, fresh: bool) -> _Connection:
        with self._lock:
            conn = self._conn
            if conn is not None and (
                fresh or not conn.alive() or conn.settings != settings or conn.target != (host, port)
            ):
                self._conn = None
                _quietly(conn.close)
                conn = None
            if conn is None:
                conn = self._conn = _Connection(connect(host, port, settings, self._timeout), settings, host, port)
            return conn

    def _channel(self, conn: _Connection) -> paramiko.SFTPClient:
        return open_sftp(conn.transport, self._timeout)

    def _give_back(self, conn: _Connection, client: paramiko.SFTPClient, keep: bool) -> None:
        with self._lock:
            if keep and self._conn is conn and conn.alive():
                conn.idle.append(client)
                return
        _quietly(client.close)

    # -- one file ----------------------------------------------------------------------------------

    def _resolve(self, client: paramiko.SFTPClient, host: str, path: str, base_dir: str) -> str:
        """The server's canonical path (symlinks resolved) must still lie under base_dir."""
        real = _call(lambda: client.normalize(path), host, "resolving the path")
        base = base_dir.rstrip("/") or "/"
        if not within(real, base):
            raise FileRefused(f"SFTP path resolves outside base_dir {base!r} (a symlink?)", host=host)
        return real

    def _size(self, client: paramiko.SFTPClient, host: str, path: str) -> int:
        attrs = _call(lambda: client.stat(path), host, "stat")
        if attrs.st_mode is not None and not stat.S_ISREG(attrs.st_mode):
            raise FileRefused("SFTP path is not a regular file", host=host)
        size = int(attrs.st_size or 0)
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
    except (EOFError, ssh_errors()) as exc:
        raise TransportError(f"SFTP {what} on {host} failed: {describe(exc)}") from None


def _quietly(action: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may fail; nothing to do about it
        action()
