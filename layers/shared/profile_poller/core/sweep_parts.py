"""What a sweep is built from and how one request's errors end (core/sweep.py drives them).

`SweepDeps` are the ports a sweep is given; `copier_for` builds its file copier; `guarded` runs one request's
check and maps what escaped it: a lost lease or a refused item costs only that request, a failing table stops the
sweep as systemic, anything else is logged and the request comes back when its lease runs out.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from .copier import FileCopier
from .copygate import CopyClock, CopyGate
from .log import logger
from .outcomes import SweepSummary
from .ports import (
    Archive,
    ItemRejected,
    KeySource,
    LeaseLost,
    Notifier,
    RequestStore,
    SftpSource,
    StatusApi,
    StoreError,
    TaskCallbacks,
)
from .schedule import Due
from .settings import Settings
from .settle import TableFailed


@dataclass
class SweepDeps:
    store: RequestStore
    api: StatusApi
    keys: KeySource
    archive: Archive
    notifier: Notifier
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    rng: random.Random = field(default_factory=random.Random)
    sftp: SftpSource | None = None
    tasks: TaskCallbacks | None = None  # issue 19: Step Functions callbacks for requests with a task token


def copier_for(
    settings: Settings, deps: SweepDeps, remaining_ms: Callable[[], int], on_cut: Callable[[], None]
) -> FileCopier:
    """The sweep's file copier: at most COPY_CONCURRENCY copies, each cut at the sweep's copy deadline."""
    return FileCopier(
        deps.api,
        deps.archive,
        settings.archive_prefix,
        settings.max_file_bytes,
        sftp=deps.sftp,
        mode=settings.file_source,
        file_hosts=settings.file_hosts,
        gate=CopyGate(settings.copy_concurrency, CopyClock.for_sweep(settings, remaining_ms), on_cut=on_cut),
    )


def guarded(
    process: Callable[[Due], None], due: Due, summary: SweepSummary, stop: Callable[[str, bool], object]
) -> None:
    """Run one request's check; what escapes it costs that request only, unless the table itself is failing."""
    request_id = due.request_id
    try:
        process(due)
    except LeaseLost:
        summary.add("leases_lost")
        logger.warning(
            "lease lost before the write; another invocation owns the request", extra={"request_id": request_id[:128]}
        )
    except ItemRejected as exc:  # this item's problem (too large): the others carry on
        summary.add("errors")
        logger.error(
            "the table refused a write for this request; its lease expires and it is tried again",
            extra={"request_id": request_id[:128], "reason": str(exc)},
        )
    except (StoreError, TableFailed) as exc:  # the table is failing: asking more would only pile up leases
        summary.add("systemic")
        stop(f"the table could not be written: {exc}", True)
    except Exception:
        summary.add("errors")
        logger.exception(
            "unexpected error; the lease will expire and the request is asked again",
            extra={"request_id": request_id[:128]},
        )
