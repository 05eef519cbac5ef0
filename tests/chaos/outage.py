"""The outage phase of the chaos run: the Campaign API fails every status call (500, resets, 502 with HTML) for
OUTAGE_HOURS simulated hours, longer than the run's MAX_AGE_SECONDS (2 h), then recovers.

Two batches meet it: EARLY, registered as it starts (their MAX_AGE passes during the outage: they must end
EXPIRED), and LATE, registered an hour before it ends (answered once it is over: COMPLETED). None may end FAILED
(`outage_failed=0` on the chaos line): an outage is not a failure (core/outage.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.simulator import Simulator, Step
from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import from_dynamo, to_dynamo

OUTAGE_HOURS = 3
LATE_AFTER_HOURS = 2
SWEEP_EVERY = 600  # virtual seconds between sweeps
HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
DOWN = (Step.error(500, 500, "Internal server error"), Step.reset(), Step.raw(502, HTML))


@dataclass
class OutageReport:
    ids: list[str] = field(default_factory=list)
    failed: int = 0
    expired_early: int = 0  # of the EARLY batch
    completed_late: int = 0  # of the LATE batch
    sweeps: int = 0

    def detail(self) -> list[str]:
        return [
            f"failed={self.failed} early_expired={self.expired_early} late_completed={self.completed_late} "
            f"of {len(self.ids) // 2} each, {self.sweeps} sweeps"
        ]


def _register(stack: LocalStack, sim: Simulator, ids: list[str], at: int) -> None:
    ddb = stack.client("dynamodb")
    for rid in ids:
        sim.script(rid, *DOWN)
    for first in range(0, len(ids), 25):
        puts = [
            {
                "PutRequest": {
                    "Item": to_dynamo(
                        {
                            "request_id": rid,
                            "status": "PENDING",
                            "due_shard": "0",
                            "next_check_at": 0,
                            "submitted_at": at,
                            "kind": "update",
                        }
                    )
                }
            }
            for rid in ids[first : first + 25]
        ]
        ddb.batch_write_item(RequestItems={stack.table: puts})


def _statuses(stack: LocalStack, ids: list[str]) -> dict[str, Any]:
    ddb = stack.client("dynamodb")
    found: dict[str, Any] = {}
    for rid in ids:
        item = ddb.get_item(TableName=stack.table, Key=to_dynamo({"request_id": rid})).get("Item")
        found[rid] = from_dynamo(item)["status"] if item else None
    return found


def run_outage(
    stack: LocalStack,
    sim: Simulator,
    clock: Callable[[], float],
    advance: Callable[[float], None],
    sweep: Callable[[], None],
    count: int,
) -> OutageReport:
    """Run the phase with `sweep` (one sweep, no kills) and a virtual clock moved by `advance`."""
    early = [f"outage-early-{i:04d}" for i in range(count)]
    late = [f"outage-late-{i:04d}" for i in range(count)]
    report = OutageReport(ids=early + late)
    start = clock()
    _register(stack, sim, early, int(start))
    registered_late = False
    while clock() < start + OUTAGE_HOURS * 3600:
        if not registered_late and clock() >= start + LATE_AFTER_HOURS * 3600:
            _register(stack, sim, late, int(clock()))
            registered_late = True
        sweep()
        report.sweeps += 1
        advance(SWEEP_EVERY)
    for rid in early + late:  # the API is back: every job has finished
        sim.script(rid, Step.done_update(3, None))
    for _ in range(60):
        statuses = _statuses(stack, early + late)
        if all(s not in (None, "PENDING") for s in statuses.values()):
            break
        sweep()
        report.sweeps += 1
        advance(SWEEP_EVERY)
    statuses = _statuses(stack, early + late)
    report.failed = sum(1 for s in statuses.values() if s == "FAILED")
    report.expired_early = sum(1 for rid in early if statuses[rid] == "EXPIRED")
    report.completed_late = sum(1 for rid in late if statuses[rid] == "COMPLETED")
    return report
