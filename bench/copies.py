"""Peak RSS of one sweep in which eight large error files finish at once (issue 12, item 5).

`make bench` calls `peak_rss_8_copies(moto, dynalite)` and prints `peak_rss_mb_8_copies=` in its figures line;
alone, `python -m bench.copies` starts its own moto server (the table on moto too). The sweep runs in a child
process started with the function's environment (`stack.function_env`, which carries the template's glibc
`MALLOC_*` settings), so its peak RSS (VmHWM) is the sweep's alone; it is measured with the default
COPY_CONCURRENCY and, for comparison, with every copy allowed at once (COPY_CONCURRENCY=8, what the function did
before the bound). The goal is <= 200 MB at the template's default memory (256 MB). Files come from the simulator
in its own process, generated on the fly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import KEY, fresh_stack
from local.stack import moto_server

ROOT = Path(__file__).resolve().parent.parent
COPIES = 8
FILE_BYTES = 48 * 2**20  # the size the issue measured: 8 x 48 MiB reached 267 MB unbounded


@contextmanager
def _simulator(ids: list[str], size: int) -> Iterator[str]:
    args = [sys.executable, "-m", "local.sim_server", "--key", KEY]
    for rid in ids:
        args += ["--big", f"{rid}:{size}"]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().split()[0]
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.terminate()
        proc.wait(timeout=10)


def _run(endpoint: str, dynamodb_endpoint: str | None, copy_concurrency: str | None, size: int) -> dict[str, Any]:
    stack = fresh_stack(endpoint, dynamodb_endpoint)
    ids = [f"copy-{n}" for n in range(COPIES)]
    overrides = {"CONCURRENCY": str(COPIES), "RATE_LIMIT_PER_SECOND": "1000"}
    if copy_concurrency is not None:
        overrides["COPY_CONCURRENCY"] = copy_concurrency
    with _simulator(ids, size) as base_url:
        env = {**os.environ, **stack.function_env(base_url, **overrides), "BENCH_IDS": ",".join(ids)}
        child = [sys.executable, "-m", "bench.copies", "--child"]
        out = subprocess.run(child, check=False, env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"bench.copies child failed: {out.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["summary"]["completed"] == COPIES, figures
    assert figures["statuses"] == ["COMPLETED"] * COPIES, figures
    return figures


def peak_rss_8_copies(endpoint: str, dynamodb_endpoint: str | None = None, size: int = FILE_BYTES) -> float:
    """Prints the unbounded comparison and the bounded figure; returns the peak RSS (MB) at the default bound."""
    results = {}
    for label, setting in (("COPY_CONCURRENCY=8 (unbounded)", str(COPIES)), ("default COPY_CONCURRENCY", None)):
        figures = _run(endpoint, dynamodb_endpoint, setting, size)
        results[label] = figures
        print(
            f"  {COPIES} x {size / 2**20:.0f} MiB error files finishing in one sweep, {label}: peak RSS "
            f"{figures['peak_rss_mb']:.0f} MB (after imports {figures['baseline_rss_mb']:.0f} MB), "
            f"{figures['seconds']:.1f} s",
            flush=True,
        )
    return float(results["default COPY_CONCURRENCY"]["peak_rss_mb"])


def _child() -> None:
    from bench.copy_file import rss_mb
    from profile_poller.entry.config import load_settings
    from profile_poller.entry.producer import get, register
    from profile_poller.entry.runtime import Runtime

    settings = load_settings()
    runtime = Runtime.build(settings)
    client = runtime.deps.store._client  # type: ignore[attr-defined]  # the same client the sweep uses
    ids = os.environ["BENCH_IDS"].split(",")
    for rid in ids:
        register(client, settings.table_name, rid)
    baseline = rss_mb("VmRSS")
    started = time.perf_counter()
    summary = runtime.sweep("bench-copies", lambda: 900_000).as_dict()
    seconds = time.perf_counter() - started
    statuses = [(get(client, settings.table_name, rid) or {}).get("status") for rid in ids]
    print(
        json.dumps(
            {
                "summary": summary,
                "statuses": statuses,
                "seconds": seconds,
                "peak_rss_mb": rss_mb("VmHWM"),
                "baseline_rss_mb": baseline,
            }
        )
    )


def main() -> int:
    if "--child" in sys.argv:
        _child()
        return 0
    with moto_server(separate_process=True) as endpoint:
        rss = peak_rss_8_copies(endpoint)
    print(f"copies: peak_rss_mb_8_copies={rss:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
