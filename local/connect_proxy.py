"""A tiny forward proxy on 127.0.0.1 for tests (dev only): `CONNECT host:port` opens a tunnel to a loopback target
and relays bytes both ways; any other request (an absolute-form `GET http://…`) is recorded and answered 502, so a
test sees whether a plain-http request would have gone through it. Records every tunnel and every byte a client
sent through it (to check that nothing readable, e.g. a Bearer key, crossed it).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ConnectProxy:
    def __init__(self) -> None:
        self.tunnels: list[str] = []  # "host:port" of every CONNECT
        self.plain: list[str] = []  # request lines of every non-CONNECT request
        self.seen = bytearray()  # every byte clients sent, request lines and tunnelled bytes alike
        self._lock = threading.Lock()
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="connect-proxy")

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, data: bytes) -> None:
        with self._lock:
            self.seen.extend(data)

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return
            head += chunk
        self._record(head)
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, target = [*line.split(), "", ""][:2]
        if method != "CONNECT":
            with self._lock:
                self.plain.append(line)
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        host, _, port = target.rpartition(":")
        with self._lock:
            self.tunnels.append(target)
        if host.strip("[]") not in LOOPBACK:  # tests never leave the machine
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = head.split(b"\r\n\r\n", 1)[1]
        if rest:
            upstream.sendall(rest)
        self._relay(client, upstream)

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        def pump(source: socket.socket, sink: socket.socket, record: bool) -> None:
            with contextlib.suppress(OSError):
                while data := source.recv(65536):
                    if record:
                        self._record(data)
                    sink.sendall(data)
            for sock in (sink, source):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, client, False), daemon=True)
        back.start()
        pump(client, upstream, True)
        back.join(timeout=10)
        upstream.close()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"tunnels": list(self.tunnels), "plain": list(self.plain), "bytes": len(self.seen)}
