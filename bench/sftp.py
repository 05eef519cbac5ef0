"""SFTP beside HTTPS (issue 8): the same large error file copied into S3 by one sweep, once over HTTPS from the
simulator and once over SFTP from asyncssh's server, each server in its own process, all on loopback.

Prints one line per copy; returns https_mib_s, sftp_mib_s and peak_rss_mb_sftp (the sweep process's peak RSS).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import KEY, fresh_stack, simulator_process

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def sftp_process(size: int) -> Iterator[dict[str, Any]]:
    """asyncssh's SFTP server in a child process holding one error file of `size` bytes (the simulator's bytes)."""
    args = [sys.executable, "-m", "local.sftp_server", "--big", f"big.csv:{size}"]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=60)


def _copy(env: dict[str, str], label: str, size: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.copy_file"], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["status"] == "COMPLETED", figures
    assert figures["bytes"] == size, figures
    figures["mib_s"] = figures["bytes"] / figures["seconds"] / 2**20
    print(
        f"  {label}: copied {figures['bytes'] / 2**30:.2f} GiB in {figures['seconds']:.1f} s "
        f"({figures['mib_s']:.0f} MiB/s), peak RSS {figures['peak_rss_mb']:.0f} MB, "
        f"error_count={figures['error_count']}",
        flush=True,
    )
    return figures


def measure(endpoint: str, dynamodb_endpoint: str | None, size: int) -> dict[str, float]:
    stack = fresh_stack(endpoint, dynamodb_endpoint)
    with simulator_process(big=f"big-1:{size}") as base_url:
        https = _copy({**os.environ, **stack.function_env(base_url)}, "HTTPS (simulator)", size)
    with sftp_process(size) as sftp:
        stack = fresh_stack(endpoint, dynamodb_endpoint)
        secret = json.dumps({"api_key": KEY, "sftp": sftp["section"]})
        stack.client("secretsmanager").put_secret_value(SecretId=stack.secret_id, SecretString=secret)
        with simulator_process(big=f"big-1:{size}", file_value=sftp["url"]) as base_url:
            env = {**os.environ, **stack.function_env(base_url, SFTP_TIMEOUT_SECONDS="30")}
            over_sftp = _copy(env, "SFTP (asyncssh)", size)
    assert over_sftp["error_count"] == https["error_count"], (over_sftp, https)
    return {
        "https_mib_s": https["mib_s"],
        "sftp_mib_s": over_sftp["mib_s"],
        "peak_rss_mb_sftp": float(over_sftp["peak_rss_mb"]),
    }


if __name__ == "__main__":
    from local.stack import moto_server

    with moto_server(separate_process=True) as endpoint:
        print(measure(endpoint, None, int(os.environ.get("BENCH_FILE_BYTES", str(2**30)))))
