"""`make bench`: measure the poller against dynalite (the table), a moto server (S3, SNS, Secrets Manager) and
the simulator, each in its own process. dynalite comes from npm (local/dynalite); without Node the bench stops.

Prints one line per measurement, then the figures line (last line):
bench: throughput=X/s limit=Y/s ratio=R speedup_vs_sequential=S writes_per_pending_check=W items_read_per_due=D
       peak_rss_mb_1gib=M import_ratio=I errorfile_stray_vs_clean=E peak_rss_mb_8_copies=C
(errorfile_stray_vs_clean: bench/errorfile.py, a 100 MiB error file with a stray quote at its top vs clean;
peak_rss_mb_8_copies: bench/copies.py, one sweep in which eight 48 MiB error files finish at once)
https_mib_s=H sftp_mib_s=S peak_rss_mb_sftp_1gib=P (bench/sftp.py: the same 1 GiB file over HTTPS and SFTP)
ratio_at_memory=Q memory_mb=M ratio_at_memory_basis=cgroup-quota|whole-cores (bench/cpuquota.py: the throughput run
again with this process held to the template's FunctionMemory share of one vCPU)
notify_lag_short_p95_s=L notify_lag_ratio_long_p95=R status_calls_per_job=C fixed60_calls_per_job=F
idle_usd_month=U calls_24h_job=D (bench/cadence.py, virtual time)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import cadence, copies, errorfile, sftp
from bench.common import fresh_stack, pending, put_items, settings_for, simulator_process
from bench.cpuquota import cpu_share, share_of_a_vcpu
from bench.imports import import_ratio
from local.dynalite import NodeMissing, dynalite_server, install
from local.stack import LocalStack, moto_server
from profile_poller.adapters.dynamodb import DynamoRequestStore
from profile_poller.core.schedule import Due, check_at
from profile_poller.entry.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
DELAY = 0.100
CONCURRENCY = 16


WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


def sweep_once(stack: LocalStack, base_url: str, concurrency: int) -> tuple[dict[str, Any], float, int, float]:
    """One sweep; returns its summary, its seconds, the DynamoDB write calls it made (a botocore hook) and the CPU
    seconds the poller's process spent."""
    runtime = Runtime.build(settings_for(stack, base_url, CONCURRENCY=str(concurrency)))
    writes = {"calls": 0}

    def count(**_: Any) -> None:
        writes["calls"] += 1

    events = runtime.deps.store._client.meta.events  # type: ignore[attr-defined]  # the sweep's own client
    for operation in WRITES:
        events.register(f"before-call.dynamodb.{operation}", count)
    started, cpu = time.perf_counter(), time.process_time()
    summary = runtime.sweep("bench", lambda: 900_000).as_dict()
    return summary, time.perf_counter() - started, writes["calls"], time.process_time() - cpu


def rate(stack: LocalStack, base_url: str, requests: int, concurrency: int) -> tuple[float, float]:
    """Checks per second of one sweep over `requests` due requests the API calls still pending, and the
    DynamoDB writes it made per check."""
    now = int(time.time())
    put_items(stack, (pending(f"req-{i:05d}", now) for i in range(requests)))
    summary, elapsed, writes, cpu = sweep_once(stack, base_url, concurrency)
    assert summary["still_pending"] == requests, summary
    per_second = requests / elapsed
    print(
        f"  {requests} status checks, CONCURRENCY={concurrency}: {elapsed:.2f} s, {per_second:.1f}/s, "
        f"{writes} DynamoDB writes ({writes / requests:.2f} a check), "
        f"poller CPU {cpu / requests * 1000:.1f} ms a check, "
        f"{elapsed / requests * concurrency * 1000:.0f} ms a check per API slot (answers take {DELAY * 1000:.0f} ms)",
        flush=True,
    )
    return per_second, writes / requests


def emulator_ceiling(name: str, stack: LocalStack, threads: int = CONCURRENCY) -> float:
    """Claims per second the emulator can take at all from `threads` threads (a pending check's one write)."""
    import concurrent.futures

    now = int(time.time())
    ids = [f"ceil-{i:04d}" for i in range(40 * threads)]
    put_items(stack, (pending(rid, now) for rid in ids))
    store = DynamoRequestStore(stack.client("dynamodb"), stack.table)
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        claimed = list(
            pool.map(lambda rid: store.claim(Due(rid, check_at(0, 0)), "c", now, check_at(now + 60, 1), 1), ids)
        )
    per_second = len(ids) / (time.perf_counter() - started)
    assert all(claimed), "a ceiling claim failed"
    print(f"  {name} ceiling: {per_second:.0f} conditional UpdateItem/s from {threads} threads", flush=True)
    return per_second


def items_read(stack: LocalStack, base_url: str, finished: int, due: int) -> float:
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


def peak_rss(stack: LocalStack, size: int) -> float:
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


def main() -> int:
    size = int(os.environ.get("BENCH_FILE_BYTES", str(2**30)))
    finished = int(os.environ.get("BENCH_FINISHED_ITEMS", "100000"))
    try:
        install()
    except NodeMissing as exc:
        print(f"bench: stopped: {exc}. The bench measures the table on dynalite (npm); install Node.js 20+.")
        return 2
    print(f"bench on {os.cpu_count()} cores; the table on dynalite, S3/SNS/Secrets Manager on moto", flush=True)
    with moto_server(separate_process=True) as moto, dynalite_server() as dynalite:
        emulator_ceiling("moto server", fresh_stack(moto))
        emulator_ceiling("dynalite", fresh_stack(moto, dynalite))
        with simulator_process(delay=DELAY) as base_url:
            throughput, writes = rate(fresh_stack(moto, dynalite), base_url, 2000, CONCURRENCY)
            memory = cadence.template_defaults()[3]
            with cpu_share(memory) as whole_cores:
                print(
                    f"  at {memory} MB: {share_of_a_vcpu(memory):.3f} of a vCPU for this process"
                    if whole_cores is None
                    else f"  at {memory} MB: {whole_cores}",
                    flush=True,
                )
                at_memory, _ = rate(fresh_stack(moto, dynalite), base_url, 2000, CONCURRENCY)
            sequential, _ = rate(fresh_stack(moto, dynalite), base_url, 100, 1)
        with simulator_process() as base_url:
            small = items_read(fresh_stack(moto, dynalite), base_url, finished // 10, 500)
            per_due = items_read(fresh_stack(moto, dynalite), base_url, finished, 500)
        print(
            f"  items read per due request: {small:.3f} with {finished // 10} finished items, "
            f"{per_due:.3f} with {finished}",
            flush=True,
        )
        rss = peak_rss(fresh_stack(moto, dynalite), size)
        rss_8_copies = copies.peak_rss_8_copies(moto, dynalite)
        sources = sftp.measure(moto, dynalite, size)  # the same file over HTTPS and SFTP (bench/sftp.py)
    ratio_import = import_ratio()
    parsed = errorfile.measure(int(os.environ.get("BENCH_ERRORFILE_BYTES", str(100 * 2**20))))
    stray_vs_clean = float(parsed["stray_quote"]["mib_s"]) / float(parsed["clean"]["mib_s"])  # type: ignore[arg-type]
    lag = cadence.measure()
    limit = CONCURRENCY / DELAY
    print(
        f"bench: throughput={throughput:.1f}/s limit={limit:.0f}/s ratio={throughput / limit:.2f} "
        f"speedup_vs_sequential={throughput / sequential:.1f} writes_per_pending_check={writes:.2f} "
        f"items_read_per_due={per_due:.3f} peak_rss_mb_1gib={rss:.0f} import_ratio={ratio_import:.2f} "
        f"errorfile_stray_vs_clean={stray_vs_clean:.2f} peak_rss_mb_8_copies={rss_8_copies:.0f} "
        f"https_mib_s={sources['https_mib_s']:.1f} sftp_mib_s={sources['sftp_mib_s']:.1f} "
        f"peak_rss_mb_sftp_1gib={sources['peak_rss_mb_sftp']:.0f} "
        f"ratio_at_memory={at_memory / limit:.2f} memory_mb={memory} "
        f"ratio_at_memory_basis={'cgroup-quota' if whole_cores is None else 'whole-cores'} " + cadence.figures_line(lag)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
