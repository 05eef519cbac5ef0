"""Run part of the bench on the CPU a Lambda function really gets: a share of one vCPU proportional to its memory
(1,769 MB = one vCPU), set as a cgroup v1 CPU quota on this process (`cpu.cfs_quota_us` under /sys/fs/cgroup/cpu).

Needs root and a cgroup v1 cpu hierarchy (the development and CI machines have both). Where the quota cannot be
set, `cpu_share` yields the reason and the caller labels its figure as measured on whole cores.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

CPU_ROOT = Path("/sys/fs/cgroup/cpu")
MB_PER_VCPU = 1769
PERIOD_US = 100_000


def share_of_a_vcpu(memory_mb: int) -> float:
    return memory_mb / MB_PER_VCPU


@contextmanager
def cpu_share(memory_mb: int) -> Iterator[str | None]:
    """This process (all its threads) limited to `memory_mb`'s share of one CPU while inside; yields None when the
    quota is set, else why it could not be (the code inside then runs on whole cores)."""
    group = CPU_ROOT / f"profile-poller-bench-{os.getpid()}"
    quota = max(1000, round(PERIOD_US * share_of_a_vcpu(memory_mb)))
    try:
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(quota))
        (group / "cgroup.procs").write_text(str(os.getpid()))  # moves every thread of the process
    except OSError as exc:
        _remove(group)
        yield f"no cgroup v1 CPU quota here ({exc.strerror or exc}): whole cores"
        return
    try:
        yield None
    finally:
        (CPU_ROOT / "cgroup.procs").write_text(str(os.getpid()))
        _remove(group)


def _remove(group: Path) -> None:
    with suppress(OSError):
        group.rmdir()
