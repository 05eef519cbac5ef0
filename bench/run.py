"""`make bench`: measure the poller against a moto server and the simulator, each in its own process.

Prints one line per measurement, then the figures line (last line):
bench: throughput=X/s limit=Y/s ratio=R speedup_vs_sequential=S items_read_per_due=D peak_rss_mb_1gib=M import_ratio=I
       errorfile_stray_vs_clean=E (bench/errorfile.py: a 100 MiB error file, stray quote at its top vs clean)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import errorfile
from bench.common import fresh_stack, pending, put_items, settings_for, simulator_process
from local.stack import LocalStack, moto_server
from profile_poller.adapters.dynamodb import DynamoRequestStore
from profile_poller.entry.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
DELAY = 0.100
CONCURRENCY = 16


def sweep_once(stack: LocalStack, base_url: str, concurrency: int) -> tuple[dict[str, Any], float]:
    runtime = Runtime.build(settings_for(stack, base_url, CONCURRENCY=str(concurrency)))
    started = time.perf_counter()
    summary = runtime.sweep("bench", lambda: 900_000).as_dict()
    return summary, time.perf_counter() - started


def rate(endpoint: str, base_url: str, requests: int, concurrency: int) -> float:
    stack = fresh_stack(endpoint)
    now = int(time.time())
    put_items(stack, (pending(f"req-{i:05d}", now) for i in range(requests)))
    summary, elapsed = sweep_once(stack, base_url, concurrency)
    assert summary["still_pending"] == requests, summary
    per_second = requests / elapsed
    print(f"  {requests} status checks, CONCURRENCY={concurrency}: {elapsed:.2f} s, {per_second:.1f}/s", flush=True)
    return per_second


def emulator_ceiling(endpoint: str, threads: int = CONCURRENCY) -> float:
    """Conditional UpdateItems per second the moto server can take at all (the claim the sweep makes)."""
    import concurrent.futures

    stack = fresh_stack(endpoint)
    now = int(time.time())
    ids = [f"ceil-{i:04d}" for i in range(40 * threads)]
    put_items(stack, (pending(rid, now) for rid in ids))
    store = DynamoRequestStore(stack.client("dynamodb"), stack.table)
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda rid: store.claim(rid, "ceiling", now, now + 900, now), ids))
    per_second = len(ids) / (time.perf_counter() - started)
    print(
        f"  moto server ceiling: {per_second:.0f} conditional UpdateItem/s from {threads} threads "
        f"(a pending check makes 2: claim and reschedule)",
        flush=True,
    )
    return per_second


def items_read(endpoint: str, base_url: str, finished: int, due: int) -> float:
    stack = fresh_stack(endpoint)
    now = int(time.time())
    started = time.perf_counter()
    put_items(
        stack,
        (
            {
                "request_id": f"done-{i:06d}",
                "status": "COMPLETED",
                "finished_at": now,
                "outcome": {"update_count": 1, "error_count": 0},
            }
            for i in range(finished)
        ),
    )
    put_items(stack, (pending(f"due-{i:04d}", now) for i in range(due)))
    loaded = time.perf_counter() - started
    runtime = Runtime.build(settings_for(stack, base_url, CONCURRENCY="16"))
    client = stack.client("dynamodb")
    read = {"items": 0}

    def count(parsed: dict[str, Any], **_: Any) -> None:
        if "ScannedCount" in parsed:
            read["items"] += parsed["ScannedCount"]
        elif "Item" in parsed:
            read["items"] += 1
        elif "Responses" in parsed:
            read["items"] += sum(len(v) for v in parsed["Responses"].values())

    for operation in ("Query", "Scan", "GetItem", "BatchGetItem"):
        client.meta.events.register(f"after-call.dynamodb.{operation}", count)
    runtime.deps.store = DynamoRequestStore(client, stack.table)
    summary = runtime.sweep("bench", lambda: 900_000).as_dict()
    assert summary["claimed"] == due, summary
    ratio = read["items"] / due
    print(
        f"  {finished} finished + {due} due items (loaded in {loaded:.0f} s): {read['items']} items read, "
        f"{ratio:.3f} per due request",
        flush=True,
    )
    return ratio


def peak_rss(endpoint: str, size: int) -> float:
    stack = fresh_stack(endpoint)
    with simulator_process(big=f"big-1:{size}") as base_url:
        env = {**os.environ, **stack.function_env(base_url)}
        out = subprocess.run(
            [sys.executable, "-m", "bench.copy_file"], env=env, capture_output=True, text=True, check=True, cwd=ROOT
        )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"  copied {figures['bytes'] / 2**30:.2f} GiB in {figures['seconds']:.1f} s "
        f"({figures['bytes'] / figures['seconds'] / 2**20:.0f} MiB/s), peak RSS {figures['peak_rss_mb']:.0f} MB "
        f"(after imports {figures['baseline_rss_mb']:.0f} MB), error_count={figures['error_count']}",
        flush=True,
    )
    rows = (size - len(b"Code, Description, Index\r\n")) // len(b'3005, "Invalid Profile ID", 1\r\n')
    assert figures["error_count"] == rows, figures
    assert figures["errors_by_code"] == {"3005": rows}, figures
    return float(figures["peak_rss_mb"])


def import_ratio(runs: int = 7) -> float:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'functions/poller'}:{ROOT / 'layers/shared'}"}
    floor_code = "import boto3, requests\nfrom aws_lambda_powertools import Logger, Metrics, Tracer"

    def timed(code: str) -> float:
        program = f"import time\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
        out = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
        return float(out.stdout.strip())

    floors, handlers = [], []
    for _ in range(runs):  # interleaved, so drift on the machine hits both alike
        floors.append(timed(floor_code))
        handlers.append(timed("import app"))
    floor, handler = statistics.median(floors), statistics.median(handlers)
    print(
        f"  import: handler module {handler * 1000:.0f} ms, floor {floor * 1000:.0f} ms (medians of {runs})", flush=True
    )
    return handler / floor


def main() -> int:
    size = int(os.environ.get("BENCH_FILE_BYTES", str(2**30)))
    finished = int(os.environ.get("BENCH_FINISHED_ITEMS", "100000"))
    print(f"bench on {os.cpu_count()} cores", flush=True)
    with moto_server(separate_process=True) as endpoint:
        with simulator_process(delay=DELAY) as base_url:
            throughput = rate(endpoint, base_url, 2000, CONCURRENCY)
            sequential = rate(endpoint, base_url, 100, 1)
        emulator_ceiling(endpoint)
        with simulator_process() as base_url:
            small = items_read(endpoint, base_url, finished // 10, 500)
            per_due = items_read(endpoint, base_url, finished, 500)
        print(
            f"  items read per due request: {small:.3f} with {finished // 10} finished items, "
            f"{per_due:.3f} with {finished}",
            flush=True,
        )
        rss = peak_rss(endpoint, size)
    ratio_import = import_ratio()
    parsed = errorfile.measure(int(os.environ.get("BENCH_ERRORFILE_BYTES", str(100 * 2**20))))
    stray_vs_clean = float(parsed["stray_quote"]["mib_s"]) / float(parsed["clean"]["mib_s"])  # type: ignore[arg-type]
    limit = CONCURRENCY / DELAY
    print(
        f"bench: throughput={throughput:.1f}/s limit={limit:.0f}/s ratio={throughput / limit:.2f} "
        f"speedup_vs_sequential={throughput / sequential:.1f} items_read_per_due={per_due:.3f} "
        f"peak_rss_mb_1gib={rss:.0f} import_ratio={ratio_import:.2f} errorfile_stray_vs_clean={stray_vs_clean:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
