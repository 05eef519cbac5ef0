"""The Campaign API simulator on the wire: the HTTP request handler of its two listeners (dev only).

The API origin checks the Bearer key (retired keys answer 498, unknown ones 401/430), then answers status calls
from the script and serves files under FILES_PREFIX; the file host serves /public/ files and /redirect without a
key. Every call is recorded first. What each answer is comes from the Simulator (local/simulator.py); this module
only writes it: JSON, raw bytes, a file with a Content-Length, chunked or gzip-encoded, or a reset (RST).
"""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from local.sim_script import FileSpec

if TYPE_CHECKING:
    from local.simulator import Simulator

STATUS_PREFIX = "/campaignapi/resources/v3/profilequerystatus/"
FILES_PREFIX = "/campaignapi/resources/v3/files/"
PUBLIC_PREFIX = "/public/"


@dataclass
class Call:
    path: str
    authorization: str | None
    host: str


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer (timeouts, resets) are part of the script, not errors."""


def handler(sim: Simulator, api: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_POST(self) -> None:
            self._json(405, {"code": 405, "description": "Method not supported"})

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            auth = self.headers.get("Authorization")
            sim.record(Call(path=self.path, authorization=auth, host=self.headers.get("Host", "")))
            if not api:
                self._public(path)
                return
            state = sim.key_state(auth)
            if state != "valid":
                if state == "retired":
                    self._json(498, {"code": 498, "description": "Invalid token or access token expired"})
                else:
                    self._json(401, {"code": 430, "description": "Authorization failed for this token or key"})
                return
            if path.startswith(STATUS_PREFIX):
                self._status(unquote(path[len(STATUS_PREFIX) :]))
            elif path.startswith(FILES_PREFIX):
                self._file(unquote(path[len(FILES_PREFIX) :]))
            else:
                self._json(404, {"code": 404, "description": "Not found"})

        def _public(self, path: str) -> None:
            if path == "/redirect":
                target = parse_qs(urlsplit(self.path).query).get("to", [""])[0]
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path.startswith(PUBLIC_PREFIX):
                self._file(unquote(path[len(PUBLIC_PREFIX) :]))
            else:
                self._json(404, {"code": 404, "description": "Not found"})

        def _status(self, request_id: str) -> None:
            if sim.over_hidden_limit():
                self._json(429, {"code": 429, "description": "Too many requests"})
                return
            if sim.delay_seconds:
                sim.wait_released(sim.delay_seconds)
            step = sim.next_step(request_id)
            if step is None:
                self._json(200, {"code": "1010", "description": "The request was not processed."})
            elif step.action == "json":
                self._json(step.status, step.body, step.headers)
            elif step.action == "raw":
                self._send(step.status, step.body, step.headers)
            elif step.action == "reset":
                self._reset()
            elif step.action == "hang":
                sim.wait_released(30.0)
                self._reset()

        def _file(self, name: str) -> None:
            spec, fault = sim.take_fault(name)
            if spec is None:
                self._json(404, {"code": 404, "description": "No such file"})
                return
            if fault is not None and fault.isdigit():  # "500", "403", "410": that status instead of the file
                self._send(int(fault), b"<html><body>Refused</body></html>", (("Content-Type", "text/html"),))
                return
            if fault == "reset":
                self._reset()
                return
            sim.download_started()
            try:
                self._send_file(spec, fault)
            finally:
                sim.download_ended()

        def _send_file(self, spec: FileSpec, fault: str | None) -> None:
            length, chunks = spec.wire()
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            if spec.gzip:
                self.send_header("Content-Encoding", "gzip")
            self.send_header(*(("Transfer-Encoding", "chunked") if spec.chunked else ("Content-Length", str(length))))
            self.end_headers()
            limit = length // 2 if fault == "truncate" else length
            sent = 0
            for chunk in chunks:
                part = chunk[: max(0, limit - sent)]
                if part:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if spec.chunked else part)
                    sent += len(part)
                    if spec.on_sent is not None:
                        self.wfile.flush()
                        spec.on_sent(sent)
                if sent >= limit:
                    break
            if fault == "truncate":
                self.wfile.flush()
                self._reset()
            elif spec.chunked:
                self.wfile.write(b"0\r\n\r\n")

        def _json(self, status: int, body: Any, headers: tuple[tuple[str, str], ...] = ()) -> None:
            data = json.dumps(body).encode()
            self._send(status, data, (("Content-Type", "application/json"), *headers))

        def _send(self, status: int, data: bytes, headers: tuple[tuple[str, str], ...] = ()) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _reset(self) -> None:
            """Close with RST: the client sees a connection reset, not a clean end."""
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass

    return Handler
