"""Campaign API simulator: a real HTTP server on 127.0.0.1 speaking the documented contract (dev only).

Scripted per request-id (a list of steps, the last one repeats), with fault injection: throttling with or
without Retry-After, 5xx with HTML bodies, resets, hangs, key rotation (retired keys answer 498) and file
downloads that break off; files go out with a Content-Length, chunked, or gzip-encoded (the script's vocabulary,
Step and FileSpec, is in local/sim_script.py). Two listeners: the API origin (files under /campaignapi/.../files/,
Bearer key required) and a separate file host (absolute URLs under /public/, no key expected, every header
recorded). This module holds the simulator's state (scripts, keys, the hidden limit, what it saw); the HTTP
handler that writes its answers is local/sim_wire.py.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from local.sim_script import FileSpec, Step
from local.sim_wire import FILES_PREFIX, PUBLIC_PREFIX, STATUS_PREFIX, Call, QuietServer, handler

__all__ = ["FILES_PREFIX", "PUBLIC_PREFIX", "STATUS_PREFIX", "Call", "FileSpec", "Simulator", "Step"]


def busiest_window(times: Iterable[float], seconds: float = 1.0) -> int:
    """The most of `times` that fall within any `seconds`-long window."""
    ordered = sorted(times)
    best, first = 0, 0
    for last, t in enumerate(ordered):
        while ordered[first] <= t - seconds:
            first += 1
        best = max(best, last - first + 1)
    return best


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
        self._api = QuietServer((host, 0), handler(self, api=True))
        self._files = QuietServer((host, 0), handler(self, api=False))
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
            times = list(self.status_times)
        return busiest_window(times, seconds)

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
