"""The template's cadence against the moto server and the simulator over HTTP: an idle sweep writes nothing, and a
short job is announced by the same invocation that first asked it. The sweep's waits move a fake clock."""

from __future__ import annotations

import time
from typing import Any

from local.simulator import Simulator, Step
from local.stack import LocalStack
from profile_poller.entry.config import load_settings
from profile_poller.entry.producer import register
from profile_poller.entry.runtime import Runtime
from tests.fakes import FakeClock

CADENCE = {"BACKOFF_BASE_SECONDS": "20", "BACKOFF_AGE_FRACTION": "0.15", "STAY_UP_SECONDS": "55"}


def runtime(stack: LocalStack, sim: Simulator, clock: FakeClock) -> Runtime:
    settings = load_settings(stack.function_env(sim.base_url, **CADENCE))
    return Runtime.build(settings, clock=clock, sleep=clock.sleep)


def items(stack: LocalStack) -> list[dict[str, Any]]:
    return list(stack.client("dynamodb").scan(TableName=stack.table)["Items"])


def test_an_idle_sweep_reads_the_due_index_and_writes_nothing(stack: LocalStack, sim: Simulator) -> None:
    # Given an empty table
    clock = FakeClock()
    # When a sweep with the template's cadence runs
    summary = runtime(stack, sim, clock).sweep("idle", lambda: 900_000).as_dict()
    # Then it did not wait, asked nothing and left no asking lease in the table
    assert clock.slept == 0 and summary["claimed"] == 0 and summary["stopped"] is None
    assert items(stack) == [] and sim.status_calls == {}


def test_a_short_job_is_announced_by_the_sweep_that_first_asked_it(stack: LocalStack, sim: Simulator) -> None:
    # Given a job registered now that the API reports pending at the first call and done at the second
    clock = FakeClock(start=float(int(time.time())))  # the producer helper refuses a submitted_at from the future
    start = int(clock())
    sim.script("short-1", Step.pending(), Step.done_update(3, None))
    register(stack.client("dynamodb"), stack.table, "short-1", submitted_at=int(clock()))
    # When one sweep with the template's cadence runs
    summary = runtime(stack, sim, clock).sweep("busy", lambda: 900_000).as_dict()
    # Then it asked at 20 s of age, again 21 s later, and completed the request within its 55 s
    item = next(i for i in items(stack) if i["request_id"]["S"] == "short-1")
    assert item["status"]["S"] == "COMPLETED" and summary["completed"] == 1
    assert sim.status_calls["short-1"] == 2
    assert int(item["finished_at"]["N"]) - start <= 55
    # and gave the asking lease up
    [lease] = [i for i in items(stack) if i["request_id"]["S"] == "#asking"]
    assert "lease_owner" not in lease and "rate" in lease
