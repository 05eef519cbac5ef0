"""The chaos run at a size CI can afford (`make chaos` runs it with 1,000 requests)."""

from __future__ import annotations

import os

import pytest
import requests

from local.sftp_server import SftpServer
from local.simulator import Simulator
from local.stack import create_stack
from tests.chaos.driver import KEY_1, run_chaos
from tests.chaos.sftp_files import SftpPlan


@pytest.mark.parametrize("seed", [7, 11])
def test_nothing_is_lost_stuck_duplicated_or_mismatched(moto_endpoint: str, seed: int) -> None:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    stack = create_stack(moto_endpoint, KEY_1)
    with Simulator(valid_keys={KEY_1}) as sim, SftpServer() as sftp:
        plan = SftpPlan(sftp)
        report = run_chaos(stack, sim, int(os.environ.get("CHAOS_REQUESTS", "120")), seed=seed, sftp=plan)
    print(report.line())
    assert report.crashed > 0 and report.sweeps > report.crashed  # the run really killed sweeps mid-item
    assert (report.lost, report.stuck, report.duplicate_event_ids, report.objects_mismatched) == (0, 0, 0, 0), (
        report.details
    )
    assert report.notified == report.terminal  # every settled request was announced
    assert report.poison_unsettled == 0, report.details.get("poison_unsettled")  # stray quotes, ms times, big summaries
    assert report.poison_exercised >= 8  # of the 19 poison inputs in 120 requests, most reach the code they target
    assert report.outage_failed == 0, report.details.get("outage")  # hours of a failing API fail nobody
    assert report.leaked_secrets == 0
    assert report.aws_faults > 0  # the sweeps really met failing AWS calls
    assert plan.denied and sftp.connections > 1  # SFTP files and faults were really in the mix
