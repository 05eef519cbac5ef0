"""The tenant's rate over the wire, in real time: the simulator stamps every status call (its clock is the
sweeps' clock, time.time) and may enforce a hidden per-second limit. Each test runs about half a minute; the
bounds leave room for a loaded 2-core machine (the limiter spaces grants on the clock, so a stall delays calls
rather than bunching them).

The overlapping-sweeps test runs moto and the simulator each in its own process on 127.0.0.1, as AWS and the API
are in production: in one process their threads share the GIL with the sweep's, which delays the simulator's
stamps by tens of milliseconds under load and shifts the busiest second without the client sending faster.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.sim_server import simulator_process
from local.simulator import Simulator
from local.stack import LocalStack, aws_env, create_stack, moto_server
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.entry.config import load_settings
from profile_poller.entry.runtime import Runtime
from tests.conftest import API_KEY


def backlog(stack: LocalStack, count: int) -> None:
    ddb, now = stack.client("dynamodb"), int(time.time())
    items = [
        {
            "PutRequest": {
                "Item": to_dynamo(
                    {
                        "request_id": f"r{i:04d}",
                        "status": "PENDING",
                        "due_shard": "0",
                        "next_check_at": 0,
                        "submitted_at": now,
                    }
                )
            }
        }
        for i in range(count)
    ]
    for first in range(0, count, 25):
        ddb.batch_write_item(RequestItems={stack.table: items[first : first + 25]})


def runtime(stack: LocalStack, base_url: str, **env: str) -> Runtime:
    return Runtime.build(load_settings(stack.function_env(base_url, **env)), clock=time.time, sleep=time.sleep)


@pytest.fixture
def own_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    """The stack on a moto server in its own process (boto3 pointed at it for this test only)."""
    with moto_server(separate_process=True) as endpoint:
        for name, value in aws_env(endpoint).items():
            monkeypatch.setenv(name, value)
        yield create_stack(endpoint, API_KEY)


def test_three_overlapping_sweeps_hold_the_tenant_rate(own_stack: LocalStack) -> None:
    # Given 600 due requests and three sweeps started a moment apart, at RATE_LIMIT_PER_SECOND=20
    stack = own_stack
    backlog(stack, 600)
    with simulator_process(API_KEY) as sim:
        runtimes = [runtime(stack, sim.base_url, RATE_LIMIT_PER_SECOND="20", CONCURRENCY="8") for _ in range(3)]
        summaries: dict[int, dict[str, Any]] = {}

        def sweep(i: int) -> None:
            started = time.monotonic()
            summaries[i] = runtimes[i].sweep(f"sweep-{i}", lambda: 900_000).as_dict()
            summaries[i]["seconds"] = time.monotonic() - started

        threads = [threading.Thread(target=sweep, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
            time.sleep(0.3)  # staggered starts (real time is what this test measures)
        for thread in threads:
            thread.join()
    times = sorted(sim.status_times)  # known once the simulator has stopped
    busiest = sim.busiest_window(1.0)
    # Then one sweep asked, the extra ones ended at once saying why
    askers = [s for s in summaries.values() if s["still_pending"]]
    assert len(askers) == 1 and askers[0]["still_pending"] == 600
    extra = [s for s in summaries.values() if "holds the asking lease" in str(s["stopped"])]
    assert len(extra) == 2 and all(s["seconds"] < 1.0 for s in extra)
    # and no second at the simulator held more than 20 calls plus the stated burst of one, and the backlog drained
    # at >= 0.85 x 20/s
    assert len(times) == 600
    drain = 599 / (times[-1] - times[0])
    print(f"measured: busiest 1-s window {busiest} calls, drained at {drain:.1f}/s")
    assert busiest <= 20 + 1, f"busiest 1-s window {busiest} calls (drained at {drain:.1f}/s)"
    assert drain >= 0.85 * 20, f"drained at {drain:.1f}/s (busiest 1-s window {busiest} calls)"


def test_a_sweep_finds_the_tenants_hidden_limit(stack: LocalStack) -> None:
    # Given a tenant that accepts 8 calls a second (429 above), while RATE_LIMIT_PER_SECOND=20
    backlog(stack, 220)
    with Simulator(valid_keys={API_KEY}, clock=time.time) as sim:
        sim.hidden_limit = 8
        # When one sweep works through the backlog
        summary = runtime(stack, sim.base_url, RATE_LIMIT_PER_SECOND="20", CONCURRENCY="4").sweep("s", lambda: 900_000)
        times = sorted(sim.status_times)
        throttled = sorted(sim.throttled_times)
    # Then it did not stop at the 429s, converged to >= 0.8 x 8/s accepted, with at most 5 % answered 429
    assert summary.stopped is None and len(times) == 220
    accepted = [t for t in times if t not in set(throttled)]
    settled = [t for t in accepted if t >= times[0] + 3.0]  # after three seconds of finding the limit
    rate = (len(settled) - 1) / (settled[-1] - settled[0])
    share = len(throttled) / len(times)
    print(f"measured: {rate:.2f} accepted calls/s after 3 s, {len(throttled)} of {len(times)} answered 429")
    assert rate >= 0.8 * 8
    assert share <= 0.05
    assert summary.asking_rate is not None and summary.asking_rate < 20
