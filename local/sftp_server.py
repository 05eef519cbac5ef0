"""A real SFTP server on 127.0.0.1 for tests, the demo and the bench (dev only): asyncssh's SFTP server serving a
temporary folder, with a generated host key and client key, in a background thread with its own event loop.

Files live under `/outbox` (the default base_dir); `/private` is outside it. Faults are scripted per file name and
consumed per open: "deny" (permission denied), "drop" (the connection is aborted after DROP_AFTER bytes), "stall"
(a read never answers until the server stops). `SftpServer(stall_subsystem=True)` accepts the connection and the
login but never answers the request to start the `sftp` subsystem. `silent_listener()` accepts TCP connections
and never speaks. Names in `unsized` get a stat answer without a size; `link_dir()` makes a folder symlink.
`host_key_algs` narrows the signature algorithms the server offers (OpenSSH 8.8+ no longer signs with ssh-rsa).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
import shutil
import socket
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh

BASE_DIR = "/outbox"
USERNAME = "campaign"
PASSWORD = "sftp-password-not-a-secret"  # a local test server's password
DROP_AFTER = 256 * 1024


class SftpServer:
    def __init__(
        self, host_key_type: str = "ssh-ed25519", *, stall_subsystem: bool = False, host_key_algs: tuple[str, ...] = ()
    ) -> None:
        self.stall_subsystem = stall_subsystem
        self.host_key_algs = host_key_algs  # () all asyncssh offers; ("rsa-sha2-512",) as OpenSSH 8.8+ (no SHA-1)
        self.root = Path(tempfile.mkdtemp(prefix="sftp-root-"))
        (self.root / BASE_DIR.strip("/")).mkdir()
        (self.root / "private").mkdir()
        self.host_key = asyncssh.generate_private_key(host_key_type)
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.connections = 0
        self._open_connections: list[asyncssh.SSHServerConnection] = []
        self.opens: list[str] = []
        self.unsized: set[str] = set()  # file names whose stat answer leaves out the size (optional in SFTP v3)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="sftp-server")
        self._server: Any = None
        self._stopping: asyncio.Event | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SftpServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=30)
        return self

    async def _listen(self) -> None:
        self._stopping = asyncio.Event()
        owner = self
        authorized = asyncssh.import_authorized_keys(self.client_key.export_public_key().decode())

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
                with owner._lock:
                    owner.connections += 1
                    owner._open_connections.append(conn)

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                return username == USERNAME and password == PASSWORD

            def public_key_auth_supported(self) -> bool:
                return True

            def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
                return username == USERNAME and authorized.validate(key, "127.0.0.1", "127.0.0.1") is not None

            def session_requested(self) -> asyncssh.SSHServerSession[bytes]:  # only without an sftp_factory
                return _SubsystemNeverStarts()

        sftp: dict[str, Any] = {} if self.stall_subsystem else {"sftp_factory": lambda chan: _FaultySftp(chan, owner)}
        host_key: Any = self.host_key
        if self.host_key_algs:
            host_key = asyncssh.load_keypairs([self.host_key])[0]
            host_key.host_key_algorithms = [alg.encode() for alg in self.host_key_algs]
        self._server = await asyncssh.listen(
            "127.0.0.1", 0, server_host_keys=[host_key], server_factory=Server, allow_scp=False, **sftp
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            if self._stopping is not None:
                self._stopping.set()
            self._server.close()
            for conn in self._open_connections:
                conn.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> SftpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content and faults ----------------------------------------------------------------------

    def put(self, name: str, data: bytes, folder: str = BASE_DIR) -> str:
        """Write a file under `folder` (default /outbox); return its absolute path on the server."""
        target = self.root / folder.strip("/") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return posixpath.join(folder, name)

    def put_large(self, name: str, size: int, block: bytes) -> str:
        target = self.root / BASE_DIR.strip("/") / name
        with target.open("wb") as out:
            full, rest = divmod(size, len(block))
            for _ in range(full):
                out.write(block)
            out.write(block[:rest])
        return posixpath.join(BASE_DIR, name)

    def symlink(self, name: str, points_to: str) -> None:
        """A link under /outbox to a server path (e.g. /private/x), written as the chroot sees it."""
        os.symlink(self.root / points_to.strip("/"), self.root / BASE_DIR.strip("/") / name)

    def link_dir(self, name: str, points_to: str) -> str:
        """A folder link at the server's root (e.g. /exports -> /outbox); returns the link's path on the server."""
        os.symlink(self.root / points_to.strip("/"), self.root / name)
        return "/" + name

    def fault(self, name: str, *faults: str) -> None:
        with self._lock:
            self.faults[name].extend(faults)

    def take_fault(self, name: str) -> str | None:
        with self._lock:
            self.opens.append(name)
            queue = self.faults.get(name)
            return queue.pop(0) if queue else None

    # -- what a client needs -----------------------------------------------------------------------

    def known_hosts_line(self, key: asyncssh.SSHKey | None = None) -> str:
        kind, blob = (key or self.host_key).export_public_key().decode().split()[:2]
        return f"[127.0.0.1]:{self.port} {kind} {blob}"

    def private_key_text(self) -> str:
        return bytes(self.client_key.export_private_key()).decode()

    def section(self, auth: str = "key", **changes: Any) -> dict[str, Any]:
        """The secret's `sftp` section for this server."""
        section: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "username": USERNAME,
            "host_keys": [self.known_hosts_line()],
            "base_dir": BASE_DIR,
        }
        section["private_key" if auth == "key" else "password"] = self.private_key_text() if auth == "key" else PASSWORD
        section.update(changes)
        return {k: v for k, v in section.items() if v is not None}

    def url(self, path: str) -> str:
        return f"sftp://127.0.0.1:{self.port}{path}"

    async def wait_stopping(self) -> None:
        assert self._stopping is not None
        await self._stopping.wait()


class _SubsystemNeverStarts(asyncssh.SSHServerSession[bytes]):
    def subsystem_requested(self, subsystem: str) -> bool:
        # None: asyncssh leaves the request unanswered (the client waits) until the connection closes
        return None  # type: ignore[return-value]


class _FaultySftp(asyncssh.SFTPServer):
    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], owner: SftpServer) -> None:
        super().__init__(chan, chroot=str(owner.root).encode())
        self._owner = owner
        self._faults: dict[int, str] = {}

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        fault = self._owner.take_fault(posixpath.basename(path.decode()))
        if fault == "deny":
            raise asyncssh.SFTPPermissionDenied("Permission denied")
        handle = super().open(path, pflags, attrs)
        if fault is not None:
            self._faults[id(handle)] = fault
        return handle

    def stat(self, path: bytes) -> Any:
        attrs = asyncssh.SFTPAttrs.from_local(super().stat(path))  # type: ignore[arg-type]
        if posixpath.basename(path.decode()) in self._owner.unsized:
            attrs.size = None
        return attrs

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        fault = self._faults.get(id(file_obj))
        if fault == "stall":
            await self._owner.wait_stopping()
        if fault == "drop" and offset + size > DROP_AFTER:
            self.connection.abort()
            await self._owner.wait_stopping()
        result = super().read(file_obj, offset, size)
        data = await result if asyncio.iscoroutine(result) else result
        return bytes(data)  # type: ignore[arg-type]

    def close(self, file_obj: object) -> Any:
        self._faults.pop(id(file_obj), None)
        return super().close(file_obj)


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and never sends a byte (a stalled server)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


def main() -> None:
    """`python -m local.sftp_server --big NAME:BYTES`: serve until stdin closes (benchmarks); prints one JSON line
    with the file's sftp:// URL and the secret's `sftp` section."""
    import argparse
    import json
    import sys

    from local.sim_server import repeated_rows

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--big", metavar="NAME:BYTES", required=True, help="an error file of that size under /outbox")
    args = parser.parse_args()
    name, size = args.big.split(":")
    with SftpServer() as server:
        target = server.root / BASE_DIR.strip("/") / name
        with target.open("wb") as out:
            for chunk in repeated_rows(int(size)).body():
                out.write(chunk)
        print(json.dumps({"url": server.url(f"{BASE_DIR}/{name}"), "section": server.section()}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
