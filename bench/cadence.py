"""Notify lag and status calls as users feel them (issue 20), in virtual time: no real waiting, seeded.

2,000 requests are registered over one hour, each finishing after a duration drawn log-uniformly between 5 s and
4 h. A fake status call answers "not processed" (1010) until the job's finish time, then the final answer. The
poller's own code decides when each request is asked: the real `Sweep` (core/sweep.py) runs once every schedule
period with the template's defaults (ScheduleExpression, BACKOFF_*, STAY_UP_SECONDS, FunctionTimeout,
RateLimitPerSecond), against the in-memory store of the unit tests. A tick that fires while the previous sweep is
still up is counted as an invocation that found the asking lease held. The same jobs go through a fixed 60-second
poll loop (first call 60 s after submission) as the baseline.

`python -m bench.cadence` prints the figures; `make bench` adds them to its `bench:` line.
Assumptions (docs/performance.md): the API answers at once (the rate limiter is the only wait of a check); an idle
invocation is billed IDLE_SWEEP_SECONDS; list prices of us-east-1 as below.
"""

from __future__ import annotations

import math
import random
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.template import load_template
from profile_poller.core.classify import ApiResponse
from profile_poller.core.model import Outcome
from profile_poller.core.ports import Credentials
from profile_poller.core.schedule import Due
from profile_poller.core.sweep import Sweep, SweepDeps
from profile_poller.entry.config import Settings, load_settings
from tests.fakes import FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response

ROOT = Path(__file__).resolve().parent.parent
SEED = 20
REQUESTS, WINDOW = 2000, 3600
SHORTEST, LONGEST, SHORT = 5.0, 4 * 3600.0, 300.0
PENDING = json_response(200, '{"code": "1010", "description": "The request was not processed."}')
FINAL = json_response(200, '{"update-count": 1}')

# list prices, us-east-1 (arm64 Lambda; DynamoDB on-demand; EventBridge Scheduler past its free tier)
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1e6
DDB_READ_UNIT = 0.125 / 1e6
DDB_WRITE_UNIT = 0.625 / 1e6
QUERY_READ_UNITS = 0.5  # an eventually consistent Query that returns nothing: the minimum charge
SCHEDULER_INVOCATION = 1.00 / 1e6
IDLE_SWEEP_SECONDS = 0.2  # billed duration of a warm idle invocation: the due Queries and the summary line
MONTH_SECONDS = 30 * 86_400


@dataclass(frozen=True)
class Job:
    request_id: str
    registered: float
    duration: float

    @property
    def finish(self) -> float:
        return self.registered + self.duration


def jobs(start: float, seed: int = SEED, count: int = REQUESTS) -> list[Job]:
    rng = random.Random(seed)
    low, high = math.log(SHORTEST), math.log(LONGEST)
    return sorted(
        (Job(f"job-{i:05d}", start + rng.uniform(0, WINDOW), math.exp(rng.uniform(low, high))) for i in range(count)),
        key=lambda j: j.registered,
    )


def template_defaults() -> tuple[Settings, int, int, int]:
    """The sweep's settings as the template's defaults make them, the schedule period (s), the function's time
    limit (s) and its memory (MB)."""
    tpl = load_template(ROOT / "template.yaml")
    params = {name: p.get("Default") for name, p in tpl["Parameters"].items()}
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|second|seconds)\)", str(params["ScheduleExpression"]))
    if rate is None:
        raise SystemExit(f"bench.cadence: ScheduleExpression {params['ScheduleExpression']!r} is not rate(N minutes)")
    period = int(rate.group(1)) * (60 if rate.group(2).startswith("minute") else 1)
    variables = tpl["Resources"]["PollerFunction"]["Properties"]["Environment"]["Variables"]
    env = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "TOPIC_ARN": "arn:aws:sns:eu-west-1:1:t", "SECRET_ID": "s"}
    for name, value in variables.items():
        if isinstance(value, str) and name not in env:
            env[name] = value
    env["RATE_LIMIT_PER_SECOND"] = str(params["RateLimitPerSecond"])
    env["DUE_SHARDS"] = str(params["DueShards"])
    env["LEASE_SECONDS"] = str(params["LeaseSeconds"])
    env["MAX_AGE_SECONDS"] = str(params["MaxAgeSeconds"])
    env["CONCURRENCY"] = "1"  # one status call at a time: the run is the same every time (the answers are instant)
    return load_settings(env), period, int(params["FunctionTimeout"]), int(params["FunctionMemory"])


class JobsApi:
    """1010 until the job's finish time, then final; counts the calls per request."""

    def __init__(self, by_id: dict[str, Job], clock: FakeClock) -> None:
        self._jobs = by_id
        self._clock = clock
        self.calls: dict[str, int] = dict.fromkeys(by_id, 0)

    def query(self, request_id: str, credentials: Credentials) -> ApiResponse:
        self.calls[request_id] += 1
        return FINAL if self._clock() >= self._jobs[request_id].finish else PENDING

    def open_file(self, path: str, credentials: Credentials) -> Any:  # pragma: no cover - no files in this bench
        raise AssertionError("no files in the cadence bench")


class RegisteringStore(FakeStore):
    """The in-memory table; a job's PENDING item appears when the clock passes its registration (as a producer's
    put would), and the due Queries and conditional writes are counted."""

    def __init__(self, pending: Sequence[Job], clock: FakeClock) -> None:
        super().__init__()
        self._pending = list(pending)
        self._clock = clock
        self.queries = 0

    def due_ids(self, shard: str, now: int) -> Iterator[Due]:
        while self._pending and self._pending[0].registered <= self._clock():
            job = self._pending.pop(0)
            self.put_pending(job.request_id, int(job.registered))
        self.queries += 1
        return super().due_ids(shard, now)

    def take_asking(self, owner: str, now: int, until: int) -> Any:
        self.writes += 1
        return super().take_asking(owner, now, until)

    def keep_asking(self, lease: Any) -> None:
        self.writes += 1
        super().keep_asking(lease)

    def end_asking(self, lease: Any) -> None:
        self.writes += 1
        super().end_asking(lease)


class StampingNotifier(FakeNotifier):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self._clock = clock
        self.published_at: dict[str, float] = {}

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        failed = super().publish(outcomes)
        for outcome in outcomes:
            self.published_at.setdefault(outcome.request_id, self._clock())
        return failed


@dataclass
class Run:
    lags: dict[str, float]
    calls: dict[str, int]
    invocations: int
    lease_held: int
    queries: int
    writes: int
    seconds_up: float


def simulate(pending: Sequence[Job], settings: Settings, period: int, timeout: int, start: float) -> Run:
    """Scheduled sweeps from `start` until every job is announced (or MAX_AGE_SECONDS past the last one)."""
    clock = FakeClock(start)
    by_id = {j.request_id: j for j in pending}
    store, api, notifier = RegisteringStore(pending, clock), JobsApi(by_id, clock), StampingNotifier(clock)
    deps = SweepDeps(store, api, FakeKeys("k"), FakeArchive(), notifier, clock, clock.sleep, random.Random(SEED))  # type: ignore[arg-type]
    last = max((j.registered for j in pending), default=start) + settings.max_age_seconds
    invocations = held = 0
    up = 0.0
    tick = start
    while tick <= last and len(notifier.published_at) < len(pending):
        invocations += 1
        if clock() > tick:  # the previous sweep is still up: this one finds the asking lease held and ends
            held += 1
        else:
            clock.now = tick
            deadline = tick + timeout
            Sweep(settings, deps, f"sweep-{invocations}", lambda d=deadline: int((d - clock()) * 1000)).run()  # type: ignore[misc]
            up += clock() - tick
        tick += period
    lags = {rid: at - by_id[rid].finish for rid, at in notifier.published_at.items()}
    return Run(lags, api.calls, invocations, held, store.queries, store.writes, up)


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)] if ordered else math.nan


def fixed_loop(pending: Sequence[Job], every: float = 60.0) -> tuple[float, float, float]:
    """Calls per job, short-job p95 lag and long-job p95 lag ratio of a loop asking every `every` seconds."""
    calls = [max(1, math.ceil(j.duration / every)) for j in pending]
    lags = [math.ceil(j.duration / every) * every - j.duration for j in pending]
    short = [lag for j, lag in zip(pending, lags, strict=True) if j.duration <= SHORT]
    ratio = [lag / j.duration for j, lag in zip(pending, lags, strict=True) if j.duration > SHORT]
    return sum(calls) / len(calls), p95(short), p95(ratio)


def idle_usd_month(settings: Settings, period: int, timeout: int, memory_mb: int) -> tuple[float, dict[str, float]]:
    """Lambda + DynamoDB (+ the Scheduler) for a stack with nothing pending, from the calls an idle sweep makes."""
    sweeps = 10
    clock = FakeClock(1_800_000_000.0)
    store = RegisteringStore([], clock)
    deps = SweepDeps(store, JobsApi({}, clock), FakeKeys("k"), FakeArchive(), FakeNotifier(), clock, clock.sleep)  # type: ignore[arg-type]
    for i in range(sweeps):
        Sweep(settings, deps, f"idle-{i}", lambda: timeout * 1000).run()
        clock.advance(period)
    per_month = MONTH_SECONDS / period
    parts = {
        "lambda": per_month * (LAMBDA_REQUEST + IDLE_SWEEP_SECONDS * memory_mb / 1024 * LAMBDA_GB_SECOND),
        "dynamodb": per_month
        * (store.queries / sweeps * QUERY_READ_UNITS * DDB_READ_UNIT + store.writes / sweeps * DDB_WRITE_UNIT),
        "scheduler": per_month * SCHEDULER_INVOCATION,
        "queries_per_sweep": store.queries / sweeps,
        "writes_per_sweep": store.writes / sweeps,
    }
    return parts["lambda"] + parts["dynamodb"], parts


def measure(seed: int = SEED) -> dict[str, float]:
    settings, period, timeout, memory = template_defaults()
    start = 1_800_000_000.0
    pending = jobs(start, seed)
    run = simulate(pending, settings, period, timeout, start)
    missing = len(pending) - len(run.lags)
    short = [run.lags[j.request_id] for j in pending if j.duration <= SHORT and j.request_id in run.lags]
    ratio = [run.lags[j.request_id] / j.duration for j in pending if j.duration > SHORT and j.request_id in run.lags]
    fixed_calls, fixed_short, fixed_ratio = fixed_loop(pending)
    day = simulate([Job("day-job", start, 86_400.0)], settings, period, timeout, start)
    idle, parts = idle_usd_month(settings, period, timeout, memory)
    busy_hours = run.seconds_up / 3600
    checks = sum(run.calls.values())
    up_usd = run.seconds_up * memory / 1024 * LAMBDA_GB_SECOND + run.invocations * LAMBDA_REQUEST
    calls = checks / len(pending)
    print(
        f"  cadence: {len(pending)} jobs over {WINDOW} s, 5 s..4 h log-uniform (seed {seed}); "
        f"a sweep every {period} s, "
        f"STAY_UP_SECONDS={settings.stay_up_seconds:g}, BACKOFF_BASE_SECONDS={settings.backoff_base_seconds:g}, "
        f"BACKOFF_AGE_FRACTION={settings.backoff_age_fraction:g}, BACKOFF_MAX_SECONDS={settings.backoff_max_seconds:g}"
        f"\n  {len(short)} short jobs: lag p95 {p95(short):.1f} s (fixed 60 s loop: {fixed_short:.1f} s); "
        f"{len(ratio)} long jobs: lag/duration p95 {p95(ratio):.3f} (fixed: {fixed_ratio:.3f}); "
        f"not announced: {missing}"
        f"\n  status calls a job {calls:.2f} (fixed 60 s loop: {fixed_calls:.2f}, ratio {calls / fixed_calls:.2f}); "
        f"a 24-hour job: {day.calls['day-job']} calls; {run.invocations} invocations "
        f"({run.lease_held} found the asking lease held), function up {busy_hours:.1f} h in total, "
        f"{run.queries} due Queries; function time ${up_usd:.3f} at {memory} MB "
        f"(${up_usd / checks * 1e6:.2f} per million checks at this load)"
        f"\n  idle: {parts['queries_per_sweep']:.0f} Queries and {parts['writes_per_sweep']:.0f} writes a sweep; "
        f"${parts['lambda']:.3f} Lambda + ${parts['dynamodb']:.3f} DynamoDB a month at {memory} MB "
        f"(+ ${parts['scheduler']:.3f} EventBridge Scheduler)",
        flush=True,
    )
    return {
        "notify_lag_short_p95_s": p95(short),
        "notify_lag_ratio_long_p95": p95(ratio),
        "status_calls_per_job": calls,
        "fixed60_calls_per_job": fixed_calls,
        "idle_usd_month": idle,
        "calls_24h_job": float(day.calls["day-job"]),
        "not_announced": float(missing),
    }


def figures_line(f: dict[str, float]) -> str:
    return (
        f"notify_lag_short_p95_s={f['notify_lag_short_p95_s']:.1f} "
        f"notify_lag_ratio_long_p95={f['notify_lag_ratio_long_p95']:.3f} "
        f"status_calls_per_job={f['status_calls_per_job']:.2f} fixed60_calls_per_job={f['fixed60_calls_per_job']:.2f} "
        f"idle_usd_month={f['idle_usd_month']:.3f} calls_24h_job={f['calls_24h_job']:.0f}"
    )


def main() -> int:
    print("bench: " + figures_line(measure()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
