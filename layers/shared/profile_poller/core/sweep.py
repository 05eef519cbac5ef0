"""One bounded sweep over the due requests (DESIGN §2), ports only; claims run ahead of CONCURRENCY status calls."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from .asking import Asker
from .budget import TimeBudget
from .cadence import StayUp, first_check_at
from .callbacks import Redelivery
from .classify import Systemic, Throttled, Transient
from .expiry import ExpiryDrain
from .items import PendingRequest
from .log import logger
from .model import InvalidRequestId, Status, validate_request_id
from .outage import OutageWatch
from .outcomes import OutcomeBatch, SweepSummary
from .pacing import cadence_seconds
from .ports import (
    CredentialsError,
    ItemRejected,
    LeaseLost,
    StoreError,
)
from .schedule import Due, check_at
from .settings import Settings
from .settle import Claimed, Settler, TableFailed
from .shards import shards_to_read
from .sweep_parts import SweepDeps, copier_for, guarded
from .throttle import LONGEST_PAUSE, PauseTooLong, TenantGate

__all__ = ["Sweep", "SweepDeps"]


class Sweep:
    """Claims due requests, asks the API with a bounded pool, and settles each answer."""

    def __init__(
        self,
        settings: Settings,
        deps: SweepDeps,
        owner: str,
        remaining_ms: Callable[[], int],
    ) -> None:
        self._s = settings
        self._budget = b = TimeBudget(settings, remaining_ms, deps.clock)  # times the AWS calls it reserves for
        self._d = deps = replace(deps, store=b.watch_store(deps.store), notifier=b.watch_notifier(deps.notifier))
        self._d = deps = replace(deps, tasks=b.watch_tasks(deps.tasks))  # issue 19: callbacks, heartbeats
        self._owner = owner
        rate, pause = settings.rate_limit_per_second, settings.backoff_max_seconds
        self._gate = TenantGate(deps.store, owner, rate, deps.clock, deps.sleep, max_pause=pause)
        self._outages = OutageWatch()
        self.summary = SweepSummary()
        copier = copier_for(settings, deps, remaining_ms, on_cut=lambda: self.summary.add("copies_out_of_time"))
        self._asker = Asker(deps.api, deps.keys, deps.clock)
        cb = self._budget.callbacks(deps.tasks, self.summary.add)  # issue 19, within the sweep's time
        self._batch = OutcomeBatch(deps.store, deps.notifier, owner, self.summary, self._expires_at, callbacks=cb)
        self._batch.redelivery = Redelivery.of(settings, deps.clock)  # a refused door: offered again after a backoff
        self._settler = Settler(
            settings,
            deps.store,
            owner,
            summary=self.summary,
            batch=self._batch,
            copier=copier,
            clock=deps.clock,
            stop=self._stop,
            rotate=self._asker.rotate,
            throttled=self._gate.throttled,
            heartbeat=cb.heartbeat,  # issue 19
        )
        self._drain = ExpiryDrain(settings, deps.store, owner, self._settler, self._batch)  # review item 4
        self._asking = threading.BoundedSemaphore(settings.concurrency)  # status calls (and settling) at once
        may_wait = lambda: remaining_ms() / 1000 - self._budget.reserve_seconds()  # noqa: E731
        self._stay_up = StayUp.for_sweep(settings, deps.store, deps.clock, deps.sleep, may_wait)
        self._stop_reason: str | None = None
        self._lock = threading.Lock()

    # -- driving -------------------------------------------------------------------------------

    def run(self) -> SweepSummary:
        # --- cadence (core/cadence.py): an idle sweep ends after its Queries, before taking the asking lease
        try:
            if self._stay_up.nothing_soon():
                return self.summary
        except StoreError as exc:
            self.summary.add("systemic")
            self._stop(f"the table could not be read: {exc}", systemic=True)
        # --- end cadence
        try:
            if self._stop_reason is None:
                self._stop_reason = self._gate.take()  # one sweep at a time asks: an extra one ends here
        except StoreError as exc:
            self.summary.add("systemic")
            self._stop(f"the table could not be written: {exc}", systemic=True)
        if self._stop_reason is not None:
            self.summary.stopped = self._stop_reason
            return self.summary
        try:
            while self._pass() and self._stay_up_more():  # one pass unless STAY_UP_SECONDS (core/cadence.py)
                pass
        finally:
            if self._d.sftp is not None:
                self._d.sftp.end_sweep()  # one SSH connection per sweep: a frozen container keeps none open
        self._drain.after(self.summary, int(self._d.clock()), self._budget.short)  # past MAX_AGE: EXPIRED (expiry.py)
        self._batch.flush()
        self._gate.end()
        self.summary.stopped = self._stop_reason
        self.summary.asking_rate = round(self._gate.limiter.rate, 3)
        return self.summary

    def _pass(self) -> bool:
        """One pass over the due index; False when the sweep stops asking."""
        now = int(self._d.clock())
        workers = 2 * self._s.concurrency  # half of them claiming ahead of the status calls
        slots = threading.BoundedSemaphore(workers)
        with ThreadPoolExecutor(workers, thread_name_prefix="sweep") as pool:
            for shard, orphaned in shards_to_read(self._s.due_shards):
                if not self._feed_shard(shard, now, pool, slots, orphaned):
                    return False
        return not self._stopping()

    def _stay_up_more(self) -> bool:
        """Between passes (STAY_UP_SECONDS): announce what is ready, keep the asking lease, wait for the next due."""
        if not self._stay_up.enabled:
            return False
        self._batch.flush()
        try:
            halt = self._gate.keep()
            if halt is None and self._stay_up.wait_for_next():
                return True
        except StoreError as exc:
            self.summary.add("systemic")
            self._stop(f"the table could not be read: {exc}", systemic=True)
            return False
        if halt is not None:
            self._stop(halt)
        return False

    def _feed_shard(
        self, shard: str, now: int, pool: ThreadPoolExecutor, slots: threading.Semaphore, orphaned: bool
    ) -> bool:
        try:
            for due in self._d.store.due_ids(shard, now):
                if self._stopping():
                    return False
                slots.acquire()
                self.summary.add("due_seen")
                if orphaned:  # filed under a shard a lowered DUE_SHARDS dropped: drained here (core/shards.py)
                    self.summary.add("orphaned_due")
                pool.submit(self._guarded, due, slots)
        except StoreError as exc:
            self.summary.add("systemic")
            self._stop(f"the table could not be read: {exc}", systemic=True)
            return False
        return True

    def _stopping(self) -> bool:
        if self._stop_reason is not None:
            return True
        short = self._budget.short()
        if short is not None:
            self._stop(short)
            return True
        return False

    def _stop(self, reason: str, systemic: bool = False) -> bool:
        """Stop asking for `reason`; True when it is the first reason (the one the sweep reports)."""
        with self._lock:
            if self._stop_reason is not None:
                return False
            self._stop_reason = reason
        log = logger.error if systemic else logger.warning
        log("sweep stops asking", extra={"reason": reason})
        return True

    def _guarded(self, due: Due, slots: threading.Semaphore) -> None:
        try:
            guarded(self._process, due, self.summary, self._stop)  # one request's errors, mapped (sweep_parts.py)
        finally:
            slots.release()

    # -- one request ---------------------------------------------------------------------------

    def _process(self, due: Due) -> None:
        if self._stopping():
            self.summary.add("not_started")
            return
        now = int(self._d.clock())
        # the claim schedules the next check and counts the attempt: "still processing" writes nothing more
        attempts = due.attempts + 1
        lease_until = check_at(now + max(self._settler.hold, math.ceil(self._backoff(due.attempts))), attempts)
        item = self._d.store.claim(due, self._owner, now, lease_until, attempts)
        if item is None:
            self.summary.add("lost_races")
            return
        self.summary.add("claimed")
        request = PendingRequest.from_item(item, now)
        self.summary.note_age(now - request.age_from)  # settling ones too: an outcome no door takes shows its age
        if request.settling is not None:  # decided: offered again to the doors that have not taken it
            self._batch.add(request.settling, request.task_token)
            return
        claimed = Claimed(request, due, lease_until)
        try:
            try:
                validate_request_id(request.request_id)
            except InvalidRequestId as exc:
                logger.error("invalid request-id; never sent to the API", extra={"request_id": due.request_id[:128]})
                self._settler.finish(claimed, Status.FAILED, reason=str(exc))
                return
            # --- cadence (core/cadence.py): a request this young is given back, due at its first check's age
            if (first := first_check_at(due.attempts, request.age_from, now, self._s)) is not None:
                self._d.store.release(request.request_id, self._owner, check_at(first, 0), 0)
                return
            # --- end cadence
            with self._asking:
                self._ask_and_settle(claimed)
        except (LeaseLost, ItemRejected, StoreError, TableFailed):
            raise
        except Exception as exc:  # liveness: whatever a port raised counts toward this request's limits
            self.summary.add("errors")
            logger.exception(
                "unexpected error; counted as a transient error of this request",
                extra={"request_id": request.request_id[:128]},
            )
            self._settler.retry_later(claimed, transient=f"unexpected error ({type(exc).__name__})")

    def _ask_and_settle(self, claimed: Claimed) -> None:
        if self._stopping():
            self._settler.release(claimed)
            self.summary.add("not_started")
            return
        halt = self._gate.keep()
        if halt is not None:
            self._stop(halt)
            self._settler.release(claimed)
            self.summary.add("not_started")
            return
        try:
            verdict, credentials = self._asker.ask(claimed.request.request_id, self._pace)
        except CredentialsError as exc:
            self._stop(f"API key unavailable: {exc}", systemic=True)
            self.summary.add("systemic")
            self._settler.release(claimed)
            self.summary.add("not_started")
            return
        except PauseTooLong as exc:  # a Retry-After arrived meanwhile, or the budget is short: no sleeping it out
            self._stop(str(exc))
            self._settler.release(claimed)
            self.summary.add("not_started")
            return
        if not isinstance(verdict, Throttled):
            self._gate.limiter.accepted()
        charge = True
        if isinstance(verdict, Transient) and verdict.unexpected:
            self.summary.add("errors")
            logger.error("unexpected error from the status call", extra={"request_id": claimed.request.request_id})
        if not isinstance(verdict, Systemic):  # an answer, or a transient failure: the outage tally
            tally = self._outages.record(isinstance(verdict, Transient))
            charge = tally.charge
            if tally.outage is not None and self._stop(tally.outage, systemic=True):
                self.summary.add("systemic")
        self._settler.act(claimed, verdict, credentials, charge=charge)

    def _pace(self) -> None:
        """The rate limiter's grant, never waited for longer than LONGEST_PAUSE nor past the sweep's budget (then
        the stop says "time budget", like any stop the budget makes)."""
        spare = self._budget.spare_seconds()
        try:
            self._gate.limiter.acquire(min(LONGEST_PAUSE, spare))
        except PauseTooLong as exc:
            if spare < LONGEST_PAUSE:
                raise PauseTooLong(f"time budget: {exc} before the time kept for work in flight") from None
            raise

    # -- helpers -------------------------------------------------------------------------------

    def _backoff(self, attempts: int) -> float:
        with self._lock:  # random.Random is not safe to share across threads
            s = self._s
            return cadence_seconds(
                attempts, s.backoff_base_seconds, s.backoff_max_seconds, s.backoff_age_fraction, self._d.rng
            )

    def _expires_at(self, finished_at: int) -> int:
        return finished_at + self._s.retention_days * 86_400
