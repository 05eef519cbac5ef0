"""The conftest.py of a mutation stage (local/mutate.py copies it to the stage's root; it is not the suite's).

In a mutant run (mutmut forks one per mutant and runs the tests that reach the mutated function, stopping at the
first failure):

- the tests run fastest first, by the durations mutmut measured in its stats run: a mutant the tests kill is then
  usually killed by a short test, before the slow ones start their servers. A survivor runs them all either way.
  The tests are independent of their order (the suite also runs them spread over pytest-xdist workers).
- each test has a budget, HANG_FACTOR times its duration in the stats run and at least HANG_FLOOR_SECONDS: a test
  still running past it is a mutant that hangs (a loop that never ends, a wait that never returns), and the run
  ends there as a timeout (mutmut's exit code 36). mutmut's own limit is for the whole run, 16 times the time of
  all the tests it selected: for a function every integration test reaches, a hang in the first test cost 13
  minutes.

And after mutmut's own runs in its main process (the clean run, the stats run), the objects they left are frozen
out of the garbage collector (`gc.freeze`), so a forked mutant run does not walk, and copy, that whole heap.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

HANG_FACTOR = 10.0
HANG_FLOOR_SECONDS = 10.0
TIMEOUT_EXIT = 36  # what mutmut records as "timeout" (mutmut/stats.py)


def _durations() -> dict[str, float] | None:
    """The tests' durations from mutmut's stats run, in a mutant run only (None elsewhere)."""
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return None  # the stats run, the forced failure, or no mutmut at all
    try:
        from mutmut.state import state  # filled by the stats run in the process each mutant run is forked from
    except ImportError:
        return None
    return state().duration_by_test


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    durations = _durations()
    if durations is not None:
        items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))


def _hung(nodeid: str, budget: float) -> None:
    sys.stderr.write(f"mutant run: {nodeid} still running after {budget:.0f} s: the mutant hangs it\n")
    sys.stderr.flush()
    for child in _children():  # the servers the test started (dynalite, sshd, nginx): no fixture will stop them
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGTERM)
    os._exit(TIMEOUT_EXIT)  # from this timer thread, whatever the test's thread is blocked in


def _children() -> list[int]:
    """This process's child processes (Linux: /proc; none found elsewhere)."""
    found: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        with contextlib.suppress(OSError, ValueError):
            found.extend(int(pid) for pid in task.read_text().split())
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    durations = _durations()
    if durations is None:
        return (yield)
    budget = max(HANG_FLOOR_SECONDS, HANG_FACTOR * durations.get(item.nodeid, HANG_FLOOR_SECONDS))
    timer = threading.Timer(budget, _hung, args=(item.nodeid, budget))
    timer.daemon = True
    timer.start()
    try:
        return (yield)
    finally:
        timer.cancel()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _durations() is None:  # in mutmut's main process, which forks every mutant run
        gc.freeze()
