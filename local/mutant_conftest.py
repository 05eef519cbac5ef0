"""The conftest.py of a mutation stage (local/mutate.py copies it to the stage's root; it is not the suite's).

In a mutant run (mutmut forks one per mutant and runs the tests that reach the mutated function, stopping at the
first failure):

- the tests that killed earlier mutants of the same function run first (the newest killer first; a mutant run that
  fails appends its failing test to `.killers/<function>`), then the others fastest first, by the durations mutmut
  measured in its stats run: a mutant the tests kill is then usually killed by the first test it meets, before the
  slow ones start their servers. A survivor runs them all either way. The tests are independent of their order (the
  suite also runs them spread over pytest-xdist workers).
- each test has a budget, HANG_FACTOR times its duration in the stats run and at least HANG_FLOOR_SECONDS: a test
  still running past it is a mutant that hangs (a loop that never ends, a wait that never returns), and the run
  ends there as a timeout (mutmut's exit code 36). mutmut's own limit is for the whole run, 16 times the time of
  all the tests it selected: for a function every integration test reaches, a hang in the first test cost 13
  minutes.
- as it ends it writes a line to `runs.tsv` (RUNS): what it cost in CPU, and whether it killed its mutant.

And in the mutmut process that forks the mutant runs (mutmut 3.8.1's default `process_isolation`, "fork"), after
its stats run: botocore's data files are parsed once (a mutant run
inherits them instead of parsing them for every session it makes: most of an AWS test's CPU), and the objects left
are frozen out of the garbage collector (`gc.freeze`), so a forked mutant run does not walk, and copy, that heap.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import heapq
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

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


# the tests that killed earlier mutants of a function, a file per function, a node id a line (newest last)
KILLERS = Path(__file__).resolve().parent / ".killers"


def _killers_file() -> Path:
    function = os.environ["MUTANT_UNDER_TEST"].rpartition("__mutmut_")[0]
    return KILLERS / function


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    durations = _durations()
    if durations is None:
        return
    try:
        lines = _killers_file().read_text().splitlines()
    except OSError:
        lines = []
    # the newest killer first: mutants of one function are mostly killed by the same few tests
    first: dict[str, int] = {}
    for nodeid in reversed(lines):
        first.setdefault(nodeid, len(first))
    items.sort(key=lambda item: (first.get(item.nodeid, len(first)), durations.get(item.nodeid, float("inf"))))


# a line per mutant run, as it ends: the mutant, pytest's exit status (0: it survived), the CPU seconds of the run
# (to its last hook: the fixtures' teardown included) and of the processes it started and waited for (servers of its
# own), the tests it ran; local/mutate.py sums them
RUNS = KILLERS.parent / "runs.tsv"
_ran: list[str] = []  # this session's tests (a mutant run's list starts as the one of the run it was forked from)
_exit_status: list[int] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _ran.clear()
    _exit_status.clear()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _exit_status.append(int(exitstatus))


def _log_run() -> None:
    own, servers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    mutant = os.environ["MUTANT_UNDER_TEST"]
    status = _exit_status[-1] if _exit_status else -1
    line = (
        f"{mutant}\t{status}\t{own.ru_utime + own.ru_stime:.3f}"
        f"\t{servers.ru_utime + servers.ru_stime:.3f}\t{len(_ran)}\n"
    )
    fd = os.open(RUNS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())  # one short append: whole lines, whatever ends beside it
    finally:
        os.close(fd)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _ran.append(report.nodeid)
    if report.failed and _durations() is not None:
        KILLERS.mkdir(exist_ok=True)
        with open(_killers_file(), "a") as killers:  # one short append: whole lines, whatever runs beside it
            killers.write(report.nodeid + "\n")


def _hung(nodeid: str, budget: float) -> None:
    sys.stderr.write(f"mutant run: {nodeid} still running after {budget:.0f} s: the mutant hangs it\n")
    sys.stderr.flush()
    for child in _children():  # the servers the test started (dynalite, sshd, nginx): no fixture will stop them
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGTERM)
    _exit_status.append(TIMEOUT_EXIT)
    _log_run()
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


# the AWS services the code and the tests make clients for
SERVICES = ("dynamodb", "s3", "sns", "sqs", "secretsmanager", "events", "stepfunctions", "cloudformation", "iam", "sts")


def _parse_botocore_data() -> None:
    """botocore's data files for every service used, parsed into the cache its loaders share (tests/conftest.py):
    each mutant run forked from here finds them parsed instead of parsing them in each session it makes."""
    import boto3

    session = boto3.session.Session(region_name="eu-west-1")
    for service in SERVICES:
        session.client(service, endpoint_url="http://127.0.0.1:9")  # type: ignore[call-overload]


def _import_moto() -> None:
    """moto's server and the backends of every service used, imported once: the tests start a moto server of their
    own in each mutant run (a session fixture), which imported them afresh (0.2 CPU s of a one-test run)."""
    from moto.moto_server.werkzeug_app import create_backend_app

    for service in SERVICES:
        create_backend_app(service)  # type: ignore[arg-type]


# the dynalite servers local/mutate.py started for this group, one per mutant run at a time (space-separated)
SLOTS_VARIABLE = "MUTATE_DYNALITE_SLOTS"
_slot: list[IO[str]] = []  # the lock of the slot this mutant run holds, until it exits


def pytest_configure(config: pytest.Config) -> None:
    """A mutant run takes a free dynalite (a lock per server) and hands it to the tests' `dynalite_endpoint`
    fixture: starting a dynalite (Node) cost 0.35 CPU s of every mutant run that reached a dynalite test."""
    if _durations() is None:
        return
    for number, endpoint in enumerate(os.environ.get(SLOTS_VARIABLE, "").split()):
        lock = open(KILLERS.parent / f".dynalite-{number}.lock", "w")  # noqa: SIM115 (held until the run exits)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _slot.append(lock)
        os.environ["DYNALITE_ENDPOINT"] = endpoint
        return
    # none free (or none started): the fixture starts a dynalite of this run's own


def _start_time(pid: int) -> str | None:
    """When the process started (field 22 of /proc/<pid>/stat, after the command name), None if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


def _guard_mutmut_timeouts() -> None:
    """mutmut 3.8.1 never cancels the wall-clock timeout it sets on each mutant run: when it expires it sends SIGXCPU
    to that pid, which by then may be any process (pids wrap at /proc/sys/kernel/pid_max, 32768 on the 2-core
    machine, and the tests' threads use them too). One hit the s3 group's own mutmut process in a run (exit -24);
    one that hits another group's mutant run records a "timeout", counted as killed. Here each timeout signals
    only the process it was set for: the same pid with the same start time."""
    try:
        from mutmut.workers import isolation
    except ImportError:
        return
    due: list[tuple[float, int, str]] = []
    wake = threading.Condition()

    def register(pid: int, timeout_s: float) -> None:
        started = _start_time(pid)
        if started is None:
            return  # already gone
        with wake:
            heapq.heappush(due, (time.monotonic() + timeout_s, pid, started))
            wake.notify()

    def expire() -> None:
        with wake:
            while True:
                while due and due[0][0] <= time.monotonic():
                    _, pid, started = heapq.heappop(due)
                    if _start_time(pid) == started:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGXCPU)
                wake.wait(timeout=max(0.0, due[0][0] - time.monotonic()) if due else None)

    threading.Thread(target=expire, name="mutant-run-timeouts", daemon=True).start()
    isolation.register_timeout = register  # type: ignore[attr-defined]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if _durations() is not None:  # a mutant run ends
        _log_run()
        return
    # in mutmut's process that forks every mutant run, after its stats run and its forced failure
    _parse_botocore_data()
    _import_moto()
    _guard_mutmut_timeouts()
    gc.freeze()
