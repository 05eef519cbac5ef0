"""SFTP adapter (paramiko): one SSH connection per sweep, bounded parallel transfers, pinned host keys.

paramiko is imported when the first SFTP file is met, never at module import (the handler's cold import stays
near its floor). The connection is opened lazily, shared by every transfer of the sweep (one SFTP channel per
transfer, at most `transfers` at once), re-opened once if it dropped, and closed by end_sweep(). Reads stream
with bounded read-ahead (windows of pipelined 32 KiB reads, paramiko's readv) into the caller's reader; the
remote size is checked against the cap before a byte is read. Timeouts bound the connect, the banner, the key
exchange, the authentication and every read. Errors name the host and the failure, never a key or password.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import io
import socket
import stat
import threading
from base64 import b64decode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from ..core.ports import (
    FileMissing,
    FilePermission,
    FileRefused,
    SftpSettings,
    SourceLoginRefused,
    TransportError,
)
from ..core.sources import within

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
            raise TransportError(f"SFTP download broke off: {_describe(exc)} from {self.url[7:]}") from None
        except Exception as exc:  # paramiko.SSHException: the channel closed mid-file
            raise TransportError(f"SFTP download broke off: {type(exc).__name__} from {self.url[7:]}") from None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return type(exc).__name__


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
            except (OSError, EOFError, _ssh_errors()) as exc:
                if attempt:
                    raise TransportError(f"SFTP channel to {host} failed: {_describe(exc)}") from None
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
                conn = self._conn = _Connection(self._connect(host, port, settings), settings, host, port)
            return conn

    def _channel(self, conn: _Connection) -> paramiko.SFTPClient:
        channel = conn.transport.open_session(timeout=self._timeout)
        channel.settimeout(self._timeout)
        channel.invoke_subsystem("sftp")
        import paramiko  # noqa: PLC0415 - lazy: see _paramiko

        return paramiko.SFTPClient(channel)

    def _give_back(self, conn: _Connection, client: paramiko.SFTPClient, keep: bool) -> None:
        with self._lock:
            if keep and self._conn is conn and conn.alive():
                conn.idle.append(client)
                return
        _quietly(client.close)

    def _connect(self, host: str, port: int, settings: SftpSettings) -> paramiko.Transport:
        import paramiko  # noqa: PLC0415 - lazy: see _paramiko

        pinned = _pinned_keys(settings.host_keys, host, port)
        if not pinned:
            raise SourceLoginRefused(f"no pinned host key for {host}:{port} in the secret's sftp.host_keys")
        try:
            sock = socket.create_connection((host, port), timeout=self._timeout)
        except OSError as exc:
            raise TransportError(f"SFTP connect to {host}:{port} failed: {_describe(exc)}") from None
        transport = paramiko.Transport(sock)
        transport.banner_timeout = transport.handshake_timeout = transport.auth_timeout = self._timeout
        transport.get_security_options().key_types = tuple(dict.fromkeys(kind for kind, _ in pinned))
        try:
            transport.start_client(timeout=self._timeout)
            offered = transport.get_remote_server_key()
            if (offered.get_name(), offered.asbytes()) not in pinned:
                raise SourceLoginRefused(f"the host key of {host}:{port} does not match the pinned key")
            self._authenticate(transport, settings, host)
        except SourceLoginRefused:
            transport.close()
            raise
        except paramiko.AuthenticationException:
            transport.close()
            raise SourceLoginRefused(f"SFTP login to {host}:{port} refused") from None
        except (OSError, EOFError, paramiko.SSHException) as exc:
            transport.close()
            raise TransportError(f"SFTP handshake with {host}:{port} failed: {_describe(exc)}") from None
        return transport

    def _authenticate(self, transport: paramiko.Transport, settings: SftpSettings, host: str) -> None:
        if settings.private_key is not None:
            transport.auth_publickey(settings.username, _load_key(settings.private_key))
        else:
            transport.auth_password(settings.username, settings.password or "", fallback=False)
        if not transport.is_authenticated():
            raise SourceLoginRefused(f"SFTP login to {host} refused")

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
        raise TransportError(f"SFTP {what} on {host} failed: {_describe(exc)}") from None
    except (EOFError, _ssh_errors()) as exc:
        raise TransportError(f"SFTP {what} on {host} failed: {_describe(exc)}") from None


def _paramiko() -> Any:
    """paramiko, imported at the first SFTP file (about 0.1 s and cryptography's bindings)."""
    import paramiko  # noqa: PLC0415 - lazy on purpose: the handler's cold import must not pay for it

    return paramiko


def _ssh_errors() -> type[Exception]:
    return _paramiko().SSHException  # type: ignore[no-any-return]


def _load_key(text: str) -> paramiko.PKey:
    import paramiko  # noqa: PLC0415 - lazy: see _paramiko

    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise SourceLoginRefused("the secret's sftp.private_key could not be read (unsupported or encrypted key)")


def _pinned_keys(lines: tuple[str, ...], host: str, port: int) -> set[tuple[str, bytes]]:
    """(key type, key blob) of every known_hosts line naming this host (plain, [host]:port or hashed)."""
    wanted = host if port == 22 else f"[{host}]:{port}"
    keys = set()
    for line in lines:
        names, kind, blob = line.split()[:3]
        if any(_host_matches(name, wanted) for name in names.split(",")):
            keys.add((kind, b64decode(blob)))
    return keys


def _host_matches(name: str, wanted: str) -> bool:
    if name.startswith("|1|"):  # hashed: |1|base64(salt)|base64(HMAC-SHA1(salt, host))
        try:
            _, _, salt, digest = name.split("|")
            mac = hmac.new(b64decode(salt), wanted.encode(), hashlib.sha1).digest()
        except ValueError:
            return False
        return hmac.compare_digest(mac, b64decode(digest))
    return name.lower() == wanted.lower()


def _quietly(action: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):  # closing a broken connection may fail; nothing to do about it
        action()
