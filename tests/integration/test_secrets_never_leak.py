"""The API key never appears in what the handler emits: logs, EMF metrics, printed output, messages, items."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from local.demo import API_KEY as DEMO_KEY
from local.sftp_server import PASSWORD as SFTP_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def test_a_whole_demo_run_never_shows_the_key() -> None:
    # Given the demo: ~20 requests over six sweeps, every fault path, the handler's JSON logs and EMF metrics
    run = subprocess.run(
        [sys.executable, "-m", "local.demo"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    handler_log = (ROOT / ".demo" / "handler.log").read_text()
    # Then the logs are real (a line per settled request) and the key is in none of it
    assert handler_log.count('"message":"request settled"') >= 15
    assert '"_aws"' in handler_log  # the EMF metrics went there too
    for text in (handler_log, run.stdout, run.stderr):
        assert DEMO_KEY not in text
        assert "Bearer" not in text
        assert "PRIVATE KEY" not in text and SFTP_PASSWORD not in text  # the secret's sftp section stays secret
