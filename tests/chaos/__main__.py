"""`make chaos`: the chaos run at full size against a fresh moto server and simulator; exits 1 on any loss."""

from __future__ import annotations

import argparse
import os
import sys
import time

from local.sftp_server import SftpServer
from local.simulator import Simulator
from local.stack import aws_env, create_stack, moto_server
from tests.chaos.driver import KEY_1, run_chaos
from tests.chaos.sftp_files import SftpPlan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.monotonic()
    with moto_server() as endpoint, Simulator(valid_keys={KEY_1}) as sim, SftpServer() as sftp:
        os.environ.update(aws_env(endpoint))
        stack = create_stack(endpoint, KEY_1)
        report = run_chaos(stack, sim, args.requests, args.seed, SftpPlan(sftp))
    print(
        f"{report.sweeps} sweeps ({report.crashed} killed mid-item) in {time.monotonic() - started:.0f} s; "
        f"secrets in logs: {report.leaked_secrets}"
    )
    for name, where in report.details.items():
        print(f"  {name}: {where[:5]}")
    print(report.line())
    bad = report.lost or report.stuck or report.duplicate_event_ids or report.objects_mismatched
    bad = bad or report.poison_unsettled or report.outage_failed != 0
    return 1 if bad or report.leaked_secrets else 0


if __name__ == "__main__":
    sys.exit(main())
