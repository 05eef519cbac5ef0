"""`make local-stack`: moto server + Campaign API simulator + the stack's resources, until Ctrl-C.

Registers a few requests and prints the environment for `make invoke` and the `profile-poller` CLI.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from pathlib import Path

from local.registration import create_registration
from local.simulator import FileSpec, Simulator, Step
from local.stack import aws_env, create_stack, moto_server
from profile_poller.core.model import Kind
from profile_poller.entry.producer import register

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "local-key-not-a-secret"  # the simulator's key


def main() -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with moto_server() as endpoint, Simulator(valid_keys={API_KEY}) as sim:
        stack = create_stack(endpoint, API_KEY, base_url=sim.base_url)
        registration = create_registration(stack)
        sim.add_file("errors.csv", FileSpec(b'Code, Description, Index\r\n3005, "Invalid Profile ID", 1\r\n'))
        sim.script("local-update", Step.pending(), Step.done_update(12, sim.api_file_path("errors.csv")))
        sim.script("local-get", Step.done_get(sim.public_file_url("errors.csv")))
        sim.script("local-bad", Step.error(200, 3005, "Invalid Profile ID"))
        ddb = stack.client("dynamodb")
        for rid, kind in (("local-update", Kind.UPDATE), ("local-get", Kind.GET), ("local-bad", Kind.GET)):
            register(ddb, stack.table, rid, kind=kind)
        env = {
            **aws_env(endpoint),
            "ALLOW_PLAIN_HTTP": "true",
            "FILE_HOSTS": "localhost",
            "TABLE_NAME": stack.table,
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        env_file = ROOT / ".demo" / "local.env"
        env_file.parent.mkdir(exist_ok=True)
        env_file.write_text("".join(f"export {k}={v}\n" for k, v in env.items()))
        print(f"moto server {endpoint}, API simulator {sim.base_url}; 3 requests registered.")
        print(f"In another shell:\n  source {env_file.relative_to(ROOT)}\n  make invoke EVENT=events/schedule.json")
        print("  make invoke FUNCTION=RegisterFunction EVENT=events/register-sqs.json")
        print(f"  (registration bus {registration.bus}, queue {registration.queue_url})")
        print("  .venv/bin/profile-poller list --status COMPLETED\nCtrl-C stops everything.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
