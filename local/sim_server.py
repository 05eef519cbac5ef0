"""The simulator as its own process (benchmarks, and the rate tests: the stamps of the status calls are not delayed
by the test process's own threads): `python -m local.sim_server --delay 0.1 --big ID:BYTES ...`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from local.simulator import FileSpec, Simulator, Step, busiest_window


def repeated_rows(size: int, row: bytes = b'3005, "Invalid Profile ID", 1\r\n') -> FileSpec:
    """An error file of exactly `size` bytes (header, then rows), generated on the fly: no memory held."""
    header = b"Code, Description, Index\r\n"
    body = size - len(header)
    count, rest = divmod(body, len(row))

    def chunks() -> Iterator[bytes]:
        yield header
        block = row * 4096
        full, tail = divmod(count, 4096)
        for _ in range(full):
            yield block
        yield row * tail
        yield b" " * rest  # padding: a blank line's worth, ignored by the parser

    return FileSpec(size=size, chunks=chunks)


def main() -> None:
    """Run the simulator as its own process (benchmarks): prints `base_url file_host_url`, serves until killed."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--key", default="sim-key")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each status answer")
    parser.add_argument(
        "--big",
        metavar="REQUEST_ID:BYTES",
        action="append",
        default=[],
        help="script REQUEST_ID to finish with an error file of BYTES (repeatable)",
    )
    parser.add_argument("--file-value", help="answer the --big requests with this error-file value (an sftp:// URL)")
    parser.add_argument(
        "--report", action="store_true", help="when stdin closes, print the status calls' times (time.time) as JSON"
    )
    args = parser.parse_args()
    sim = Simulator(valid_keys={args.key}, clock=time.time).start()
    sim.delay_seconds = args.delay
    for big in args.big:
        request_id, size = big.split(":")
        sim.add_file(f"{request_id}.csv", repeated_rows(int(size)))
        sim.script(request_id, Step.done_update(1, args.file_value or sim.api_file_path(f"{request_id}.csv")))
    print(sim.base_url, sim.file_host_url, flush=True)
    threading.Event().wait() if sys.stdin is None else sys.stdin.read()  # until killed or stdin closes
    sim.stop()
    if args.report:
        print(json.dumps({"status_times": sim.status_times}), flush=True)


@dataclass
class Arrivals:
    """When the status calls reached a simulator in another process (filled in when it stops)."""

    base_url: str
    status_times: list[float] = field(default_factory=list)

    def busiest_window(self, seconds: float = 1.0) -> int:
        """The most status calls that arrived within any `seconds`-long window."""
        return busiest_window(self.status_times, seconds)


@contextmanager
def simulator_process(
    key: str, delay: float = 0.0, big: str | None = None, file_value: str | None = None
) -> Iterator[Arrivals]:
    """The simulator in a child process on 127.0.0.1 (stamping with time.time), with `main`'s options; its
    arrivals are filled in once it has stopped."""
    args = [sys.executable, "-m", "local.sim_server", "--key", key, "--delay", str(delay), "--report"]
    if big:
        args += ["--big", big]
    if file_value:
        args += ["--file-value", file_value]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdin is not None
        assert proc.stdout is not None
        arrivals = Arrivals(proc.stdout.readline().split()[0])
        yield arrivals
        proc.stdin.close()
        arrivals.status_times = json.loads(proc.stdout.read().strip().splitlines()[-1])["status_times"]
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
