"""The function's process settings (glibc's MALLOC_*): what the template gives the function, local runs get too.

Eight large copies finishing in one sweep peaked at 163-203 MB RSS (bench/copies.py) while their live Python
objects were under 50 MB: glibc raises its mmap threshold when a large block is freed, so later 8 MiB buffers
(S3 parts, reads) came from per-thread arenas and stayed in the process once freed. A fixed threshold hands them
back.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from local.stack import LocalStack

# allocates and frees an 8 MiB buffer three times; prints how many MiB the process kept
_FREE_LARGE_BUFFERS = """
def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) // 1024
before = rss()
for _ in range(3):
    buffer = b"x" * (8 << 20)
    del buffer
print(rss() - before)
"""


def _stack() -> LocalStack:
    return LocalStack("http://127.0.0.1:1", "t", "b", "arn:aws:sns:eu-west-1:123456789012:t", "s")


def test_the_template_fixes_the_mmap_threshold_and_local_runs_take_it_from_there(cfn: dict[str, Any]) -> None:
    # Given the function's environment in the template
    env = cfn["Resources"]["PollerFunction"]["Properties"]["Environment"]["Variables"]
    # Then buffers of 1 MiB and more are mmapped whatever was freed before
    assert env["MALLOC_MMAP_THRESHOLD_"] == "1048576"
    # And the environment local runs and the bench start the sweep's process with carries the template's value
    assert _stack().function_env("http://127.0.0.1:2")["MALLOC_MMAP_THRESHOLD_"] == env["MALLOC_MMAP_THRESHOLD_"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc")
def test_a_process_started_with_the_function_environment_hands_freed_large_buffers_back() -> None:
    # Given a process started with the function's environment (as the bench starts its sweeps)
    env = _stack().function_env("http://127.0.0.1:2")
    # When it allocates and frees 8 MiB buffers, as a copy does with its S3 parts
    program = [sys.executable, "-c", _FREE_LARGE_BUFFERS]
    out = subprocess.run(program, check=False, env=env, capture_output=True, text=True)
    # Then it keeps none of them (with glibc's default, dynamic threshold it keeps 8 MiB)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) < 4, f"the process kept {out.stdout.strip()} MiB of freed 8 MiB buffers"
