"""Where the poller's CPU per pending check goes: `python -m bench.profile_check` (figures, not a test).

The same set-up as `make bench`'s throughput line (bench/run.py `rate`): the table on dynalite, S3/SNS/Secrets
Manager on a moto server, the simulator answering "still processing" after 100 ms, each in its own process, so
this process's CPU time is the poller's alone. It prints:

1. `--runs` sweeps of `--requests` due requests at CONCURRENCY=16, as `make bench` measures them (checks/s and
   CPU ms a check);
2. the same per-check work (Sweep._process: claim, ask, settle) run one request after another on one thread,
   CPU ms a check, and what a bare claim (DynamoDB UpdateItem) and a bare status call (GET) cost of it;
3. a cProfile of (2) on the CPU clock: function calls a check (steady on a busy machine, unlike CPU time), the
   top functions by own time and by cumulative time. cProfile on Python 3.12+ cannot
   profile threads apart (sys.monitoring is one profiler for the whole process), hence the one-thread run;
   the difference between (1) and (2) is what the threads cost (hand-offs, GIL switches).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections.abc import Callable

from bench.common import fresh_stack, pending, put_items, settings_for, simulator_process
from bench.run import CONCURRENCY, DELAY, rate
from local.dynalite import dynalite_server
from local.stack import LocalStack, moto_server
from profile_poller.core.schedule import check_at
from profile_poller.core.sweep import Sweep
from profile_poller.entry.runtime import Runtime


def _cpu_ms(count: int, work: Callable[[], None]) -> float:
    started = time.process_time()
    work()
    return (time.process_time() - started) / count * 1000


def one_thread(stack: LocalStack, base_url: str, requests: int, profile: cProfile.Profile | None) -> float:
    """CPU ms a check of the sweep's per-check work, one request after another on this thread."""
    now = int(time.time())
    put_items(stack, (pending(f"seq-{i:05d}", now) for i in range(requests)))
    runtime = Runtime.build(settings_for(stack, base_url, CONCURRENCY=str(CONCURRENCY)))
    sweep = Sweep(runtime.settings, runtime.deps, "profile", lambda: 900_000)
    assert sweep._gate.take() is None  # the asking lease, as run() takes it
    dues = list(runtime.deps.store.due_ids("0", now))
    assert len(dues) == requests, len(dues)

    def work() -> None:
        if profile is not None:
            profile.enable()
        for due in dues:
            sweep._process(due)
        if profile is not None:
            profile.disable()

    cpu = _cpu_ms(requests, work)
    sweep._gate.end()
    assert sweep.summary.as_dict()["still_pending"] == requests, sweep.summary.as_dict()
    return cpu


def parts(stack: LocalStack, base_url: str, calls: int) -> tuple[float, float]:
    """CPU ms of a bare claim and of a bare status call (GET and reading the answer), each on its own."""
    now = int(time.time())
    ids = [f"part-{i:05d}" for i in range(calls)]
    put_items(stack, (pending(rid, now) for rid in ids))
    runtime = Runtime.build(settings_for(stack, base_url, CONCURRENCY=str(CONCURRENCY)))
    store, api = runtime.deps.store, runtime.deps.api
    dues = list(store.due_ids("0", now))
    lease = check_at(now + 60, 1)
    claim = _cpu_ms(len(dues), lambda: [store.claim(d, "p", now, lease, 1) for d in dues] and None)
    credentials = runtime.deps.keys.current()
    status = _cpu_ms(len(ids), lambda: [api.query(rid, credentials) for rid in ids] and None)
    return claim, status


def _top(profile: cProfile.Profile, key: str, limit: int, per: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats(key).print_stats(limit)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    rows = [f"  {'ms/check':>8}  " + lines[start].strip()]
    for line in lines[start + 1 :]:
        fields = line.split()
        column = 1 if key == "tottime" else 3  # tottime or cumtime, in seconds over all the checks
        rows.append(f"  {float(fields[column]) / per * 1000:8.3f}  {line.strip()}")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="CONCURRENCY=16 sweeps to time")
    parser.add_argument("--requests", type=int, default=2000, help="due requests in each sweep")
    parser.add_argument("--calls", type=int, default=500, help="checks in the one-thread runs")
    parser.add_argument("--top", type=int, default=25, help="functions listed from the profile")
    args = parser.parse_args()
    with (
        moto_server(separate_process=True) as moto,
        dynalite_server() as dynalite,
        simulator_process(delay=DELAY) as base_url,
    ):
        print(f"sweeps at CONCURRENCY={CONCURRENCY} ({DELAY * 1000:.0f} ms answers), as make bench:", flush=True)
        for _ in range(args.runs):
            rate(fresh_stack(moto, dynalite), base_url, args.requests, CONCURRENCY)
        claim, status = parts(fresh_stack(moto, dynalite), base_url, args.calls)
        plain = one_thread(fresh_stack(moto, dynalite), base_url, args.calls, None)
        profile = cProfile.Profile(time.process_time)  # CPU, not the wait for answers
        one_thread(fresh_stack(moto, dynalite), base_url, args.calls, profile)
    print(
        f"one thread, {args.calls} checks: {plain:.2f} CPU ms a check; of it a bare claim (UpdateItem) "
        f"{claim:.2f} ms, a bare status call (GET) {status:.2f} ms, the rest {plain - claim - status:.2f} ms",
        flush=True,
    )
    calls = pstats.Stats(profile).total_calls / args.calls  # type: ignore[attr-defined]
    print(
        f"profile of the one-thread checks: {calls:.0f} Python function calls a check (a figure the machine's load "
        f"does not move); cProfile adds its own overhead; top {args.top} by own time:"
    )
    print(_top(profile, "tottime", args.top, args.calls))
    print(f"top {args.top} by cumulative time:")
    print(_top(profile, "cumulative", args.top, args.calls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
