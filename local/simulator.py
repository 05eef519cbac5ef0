"""Campaign API simulator: a real HTTP server on 127.0.0.1 speaking the documented contract (dev only).

Scripted per request-id (a list of steps, the last one repeats), with fault injection: throttling with or
without Retry-After, 5xx with HTML bodies, resets, hangs, key rotation (retired keys answer 498) and file
downloads that break off; files go out with a Content-Length, chunked, or gzip-encoded (the script's vocabulary,
Step and FileSpec, is in local/sim_script.py). Two listeners: the API origin (files under /campaignapi/.../files/,
Bearer key required) and a separate file host (absolute URLs under /public/, no key expected, every header
recorded).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local.sim_script import FileSpec, Step

STATUS_PREFIX = "/campaignapi/resources/v3/profilequerystatus/"
FILES_PREFIX = "/campaignapi/resources/v3/files/"
PUBLIC_PREFIX = "/public/"

__all__ = ["FILES_PREFIX", "PUBLIC_PREFIX", "STATUS_PREFIX", "Call", "FileSpec", "Simulator", "Step"]


@dataclass
class Call:
    path: str
    authorization: str | None
    host: str


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-answer (timeouts, resets) are part of the script, not errors."""


class Simulator:
    def __init__(
        self,
        valid_keys: set[str] | None = None,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.valid_keys = set(valid_keys or {"sim-key"})
        self.retired_keys: set[str] = set()
        self.scripts: dict[str, list[Step]] = {}
        self.files: dict[str, FileSpec] = {}
        self.calls: list[Call] = []
        self.status_calls: dict[str, int] = defaultdict(int)
        self.delay_seconds = 0.0  # answer every status call after this long (benchmarks)
        self.downloads_in_flight = 0  # file answers being written right now, and the most at once
        self.max_downloads_in_flight = 0
        self.clock = clock  # stamps every status call (tests may share theirs with the sweeps)
        self.status_times: list[float] = []  # when each status call arrived
        self.throttled_times: list[float] = []  # those answered 429 by the hidden limit
        self.hidden_limit: float | None = None  # status calls a second the tenant accepts; 429 above it
        self._lock = threading.Lock()
        self._accepted: list[float] = []
        self._release = threading.Event()
        self._api = _QuietServer((host, 0), _handler(self, api=True))
        self._files = _QuietServer((host, 0), _handler(self, api=False))
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._api.server_address[1]}"

    @property
    def file_host_url(self) -> str:
        """A different host name (localhost, not 127.0.0.1) so host allow-lists are really exercised."""
        return f"http://localhost:{self._files.server_address[1]}"

    def start(self) -> Simulator:
        for server in (self._api, self._files):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._release.set()
        for server in (self._api, self._files):
            server.shutdown()
            server.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -----------------------------------------------------------------------------

    def script(self, request_id: str, *steps: Step) -> None:
        with self._lock:
            self.scripts[request_id] = list(steps)

    def add_file(self, name: str, spec: FileSpec) -> None:
        with self._lock:
            self.files[name] = spec

    def api_file_path(self, name: str) -> str:
        """A path relative to the tenant host, fetched with the Bearer key."""
        return FILES_PREFIX + name

    def public_file_url(self, name: str) -> str:
        return f"{self.file_host_url}{PUBLIC_PREFIX}{name}"

    def rotate_key(self, new_key: str) -> None:
        """The new key becomes valid; every old one is retired and answers 498 from now on."""
        with self._lock:
            self.retired_keys |= self.valid_keys
            self.valid_keys = {new_key}

    def over_hidden_limit(self) -> bool:
        """Stamp a status call; True when it is above the hidden per-second limit (accepted calls in the last
        second, a sliding window), so it gets a 429 instead of an answer."""
        with self._lock:
            now = self.clock()
            self.status_times.append(now)
            if self.hidden_limit is None:
                return False
            self._accepted = [t for t in self._accepted if t > now - 1.0]
            if len(self._accepted) >= self.hidden_limit:
                self.throttled_times.append(now)
                return True
            self._accepted.append(now)
            return False

    def busiest_window(self, seconds: float = 1.0) -> int:
        """The most status calls that arrived within any `seconds`-long window."""
        with self._lock:
            times = sorted(self.status_times)
        best, first = 0, 0
        for last, t in enumerate(times):
            while times[first] <= t - seconds:
                first += 1
            best = max(best, last - first + 1)
        return best

    def next_step(self, request_id: str) -> Step | None:
        with self._lock:
            self.status_calls[request_id] += 1
            steps = self.scripts.get(request_id)
            if not steps:
                return None
            return steps.pop(0) if len(steps) > 1 else steps[0]

    def take_fault(self, name: str) -> tuple[FileSpec | None, str | None]:
        with self._lock:
            spec = self.files.get(name)
            if spec is None:
                return None, None
            return spec, spec.faults.pop(0) if spec.faults else None

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def key_state(self, authorization: str | None) -> str:
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self._lock:
            if token in self.valid_keys:
                return "valid"
            return "retired" if token in self.retired_keys else "unknown"

    def download_started(self) -> None:
        with self._lock:
            self.downloads_in_flight += 1
            self.max_downloads_in_flight = max(self.max_downloads_in_flight, self.downloads_in_flight)

    def download_ended(self) -> None:
        with self._lock:
            self.downloads_in_flight -= 1

    def wait_released(self, timeout: float) -> None:
        self._release.wait(timeout)


def _handler(sim: Simulator, api: bool) -> type[BaseHTTPRequestHandler]:
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
