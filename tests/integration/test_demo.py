"""`make demo` shows what the docs promise, and the API key is in none of what it emits (logs, EMF metrics, printed
output). The demo runs once per test session (some seconds: its own moto server, simulator and SFTP server, six
sweeps); it writes .demo/handler.log in the work tree, so under pytest-xdist the first worker to need it runs it
under a lock and leaves what it saw for the others in the session's shared temporary folder."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.demo import API_KEY as DEMO_KEY
from local.sftp_server import PASSWORD as SFTP_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DemoRun:
    stdout: str
    stderr: str
    handler_log: str


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker's folder; its parent is this session's, shared by all
        shared = shared.parent
    saved = shared / "demo-run.json"
    with (shared / "demo-run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one demo at a time: it writes .demo/ in the work tree
        if not saved.exists():
            run = subprocess.run(
                [sys.executable, "-m", "local.demo"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
            )
            assert run.returncode == 0, run.stderr[-2000:]
            handler_log = (ROOT / ".demo" / "handler.log").read_text()
            saved.write_text(json.dumps({"stdout": run.stdout, "stderr": run.stderr, "handler_log": handler_log}))
    return DemoRun(**json.loads(saved.read_text()))


def test_the_demo_registers_through_the_bus_shows_correlations_and_ends_with_stats(demo: DemoRun) -> None:
    out = demo.stdout
    bus = re.search(r"(\d+) registered through the event bus .*1 rejected: invalid request-id", out)
    assert bus is not None and int(bus.group(1)) >= 5
    assert out.count('correlation={"step": ') >= 4  # those that settled, in their SNS lines
    tail = out[out.index("$ profile-poller stats") :].splitlines()
    # four of them SFTP scenarios, one the short job
    assert tail[1].startswith("PENDING") and tail[-1] == "(scanned 25 items)"
    sftp_rows = [line.split() for line in out.splitlines() if line.startswith("get-sftp ")]
    assert sftp_rows and sftp_rows[0][1:2] == ["COMPLETED"] and "sftp" in sftp_rows[0]  # an SFTP-sourced copy
    assert "scans the whole table" in demo.stderr


def test_a_whole_demo_run_never_shows_the_key(demo: DemoRun) -> None:
    # Given the demo: ~20 requests over six sweeps, every fault path, the handler's JSON logs and EMF metrics
    handler_log = demo.handler_log
    # Then the logs are real (a line per settled request) and the key is in none of it
    assert handler_log.count('"message":"request settled"') >= 15
    assert '"_aws"' in handler_log  # the EMF metrics went there too
    for text in (handler_log, demo.stdout, demo.stderr):
        assert DEMO_KEY not in text
        assert "Bearer" not in text
        assert "PRIVATE KEY" not in text and SFTP_PASSWORD not in text  # the secret's sftp section stays secret
