"""One bounded sweep over the due requests (DESIGN §2). Knows only ports: no boto3, no requests."""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from .classify import Failed, Finished, KeyRejected, Pending, Systemic, Throttled, Transient, Verdict, classify
from .completion import completed_fields, retry_reason
from .copier import FileCopier
from .copygate import CopyClock, CopyGate
from .log import logger
from .model import (
    InvalidRequestId,
    Outcome,
    PendingRequest,
    Status,
    validate_request_id,
)
from .outcomes import OutcomeBatch, SweepSummary
from .pacing import RateLimiter, backoff_seconds
from .ports import (
    Archive,
    Credentials,
    CredentialsError,
    ItemRejected,
    KeySource,
    LeaseLost,
    Notifier,
    RequestStore,
    SftpSource,
    SourceLoginRefused,
    StatusApi,
    StoreError,
    TransportError,
)
from .settings import Settings
from .shards import shards_to_read


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
        self._d = deps
        self._owner = owner
        self._remaining_ms = remaining_ms
        self._limiter = RateLimiter(settings.rate_limit_per_second, deps.clock, deps.sleep)
        self.summary = SweepSummary()
        self._copier = FileCopier(
            deps.api,
            deps.archive,
            settings.archive_prefix,
            settings.max_file_bytes,
            sftp=deps.sftp,
            mode=settings.file_source,
            file_hosts=settings.file_hosts,
            gate=CopyGate(
                settings.copy_concurrency,
                CopyClock.for_sweep(settings, remaining_ms),
                on_cut=lambda: self.summary.add("copies_out_of_time"),
            ),
        )
        self._batch = OutcomeBatch(deps.store, deps.notifier, owner, self.summary, self._expires_at)
        self._stop_reason: str | None = None
        self._lock = threading.Lock()
        self._refreshed = False
        self._started_at = 0

    # -- driving -------------------------------------------------------------------------------

    def run(self) -> SweepSummary:
        now = self._started_at = int(self._d.clock())
        slots = threading.BoundedSemaphore(self._s.concurrency)
        try:
            with ThreadPoolExecutor(self._s.concurrency, thread_name_prefix="sweep") as pool:
                for shard, orphaned in shards_to_read(self._s.due_shards):
                    if not self._feed_shard(shard, now, pool, slots, orphaned):
                        break
        finally:
            if self._d.sftp is not None:
                self._d.sftp.end_sweep()  # one SSH connection per sweep: a frozen container keeps none open
        self._batch.flush()
        self.summary.stopped = self._stop_reason
        return self.summary

    def _feed_shard(
        self, shard: str, now: int, pool: ThreadPoolExecutor, slots: threading.Semaphore, orphaned: bool
    ) -> bool:
        try:
            for request_id in self._d.store.due_ids(shard, now):
                if self._stopping():
                    return False
                slots.acquire()
                self.summary.add("due_seen")
                if orphaned:  # filed under a shard a lowered DUE_SHARDS dropped: drained here (core/shards.py)
                    self.summary.add("orphaned_due")
                pool.submit(self._guarded, request_id, slots)
        except StoreError as exc:
            self.summary.add("systemic")
            self._stop(f"the table could not be read: {exc}", systemic=True)
            return False
        return True

    def _stopping(self) -> bool:
        if self._stop_reason is not None:
            return True
        if self._remaining_ms() < self._s.time_margin_seconds * 1000:
            self._stop("time budget: less than TIME_MARGIN_SECONDS left")
            return True
        return False

    def _stop(self, reason: str, systemic: bool = False) -> None:
        with self._lock:
            if self._stop_reason is None:
                self._stop_reason = reason
                log = logger.error if systemic else logger.warning
                log("sweep stops asking", extra={"reason": reason})

    def _guarded(self, request_id: str, slots: threading.Semaphore) -> None:
        try:
            self._process(request_id)
        except LeaseLost:
            self.summary.add("leases_lost")
            logger.warning(
                "lease lost before the write; another invocation owns the request",
                extra={"request_id": request_id[:128]},
            )
        except ItemRejected as exc:  # this item's problem (too large): the others carry on
            self.summary.add("errors")
            logger.error(
                "the table refused a write for this request; its lease expires and it is tried again",
                extra={"request_id": request_id[:128], "reason": str(exc)},
            )
        except StoreError as exc:  # the table is failing: asking more would only pile up leases
            self.summary.add("systemic")
            self._stop(f"the table could not be written: {exc}", systemic=True)
        except Exception:
            self.summary.add("errors")
            logger.exception(
                "unexpected error; the lease will expire and the request is asked again",
                extra={"request_id": request_id[:128]},
            )
        finally:
            slots.release()

    # -- one request ---------------------------------------------------------------------------

    def _process(self, request_id: str) -> None:
        if self._stopping():
            self.summary.add("not_started")
            return
        now = int(self._d.clock())
        item = self._d.store.claim(request_id, self._owner, now, now + self._s.lease_seconds, self._started_at)
        if item is None:
            self.summary.add("lost_races")
            return
        self.summary.add("claimed")
        request = PendingRequest.from_item(item, now)
        if request.settling is not None:  # an earlier sweep decided and died: publish the same outcome again
            self._batch.add(request.settling)
            return
        self.summary.note_age(now - request.age_from)
        try:
            validate_request_id(request.request_id)
        except InvalidRequestId as exc:
            logger.error("invalid request-id; never sent to the API", extra={"request_id": request_id[:128]})
            self._finish(request, Status.FAILED, reason=str(exc))
            return
        if self._stopping():
            self._d.store.release(request.request_id, self._owner)
            self.summary.add("not_started")
            return
        self._limiter.acquire()
        asked = self._ask(request)
        if asked is None:
            self._d.store.release(request.request_id, self._owner)
            self.summary.add("not_started")
            return
        verdict, credentials = asked
        self._act(request, verdict, credentials)

    def _ask(self, request: PendingRequest) -> tuple[Verdict, Credentials] | None:
        try:
            credentials = self._d.keys.current()
        except CredentialsError as exc:
            self._stop(f"API key unavailable: {exc}", systemic=True)
            self.summary.add("systemic")
            return None
        for _ in range(2):
            try:
                response = self._d.api.query(request.request_id, credentials)
            except TransportError as exc:
                return Transient(str(exc)), credentials
            verdict = classify(response, self._d.clock())
            if not isinstance(verdict, KeyRejected):
                return verdict, credentials
            fresh = self._rotate(credentials)
            if fresh is None:
                return Systemic("498", verdict.reason), credentials
            credentials = fresh
        return Systemic("498", "the re-read key was rejected too"), credentials

    def _rotate(self, rejected: Credentials) -> Credentials | None:
        """One re-read of the secret per sweep; threads that hit 498 together share it."""
        with self._lock:
            try:
                current = self._d.keys.current()
                if current != rejected:
                    return current
                if self._refreshed:
                    return None
                self._refreshed = True
                fresh = self._d.keys.refresh(rejected)
            except CredentialsError:
                return None
        logger.info("API key rejected; re-read the secret", extra={"key_changed": fresh != rejected})
        return fresh if fresh != rejected else None

    def _act(self, request: PendingRequest, verdict: Verdict, credentials: Credentials) -> None:
        rid = request.request_id
        match verdict:
            case Pending():
                self.summary.add("still_pending")
                self._retry_later(request, transient=None)
            case Transient(reason):
                self.summary.add("transient_errors")
                logger.warning("transient error", extra={"request_id": rid, "reason": reason})
                self._retry_later(request, transient=reason)
            case Throttled(retry_after):
                self.summary.add("throttled")
                self._stop("throttled by the API (429)")
                # a Retry-After of years (or a date in 2100) is clamped: never park a request past the backoff cap
                delay = (
                    min(retry_after, self._s.backoff_max_seconds) if retry_after is not None else self._backoff(request)
                )
                self._d.store.reschedule(
                    rid, self._owner, self._later(delay), request.transient_errors, "throttled (429)"
                )
            case Systemic(code, reason):
                self.summary.add("systemic")
                self._stop(f"systemic API failure {code}: {reason}", systemic=True)
                self._d.store.release(rid, self._owner)
            case Failed(code, description):
                self._finish(
                    request,
                    Status.FAILED,
                    api_code=code,
                    api_description=description,
                    reason=f"the API answered code {code}",
                )
            case Finished():
                self._complete(request, verdict, credentials)
            case KeyRejected(reason):  # _ask turns these into Systemic; kept for exhaustiveness
                self._d.store.release(rid, self._owner)
                self._stop(reason, systemic=True)

    def _retry_later(self, request: PendingRequest, transient: str | None) -> None:
        now = self._now()
        errors = request.transient_errors + 1 if transient is not None else 0
        if transient is not None and errors >= self._s.max_transient_errors:
            self._finish(request, Status.FAILED, reason=f"{errors} transient errors in a row; last: {transient}")
        elif now - request.age_from >= self._s.max_age_seconds:
            self._finish(
                request, Status.EXPIRED, reason=f"no final answer within MAX_AGE_SECONDS={self._s.max_age_seconds}"
            )
        else:
            self._d.store.reschedule(
                request.request_id, self._owner, self._later(self._backoff(request)), errors, transient
            )

    def _complete(
        self, request: PendingRequest, answer: Finished, credentials: Credentials, again: bool = False
    ) -> None:
        rid = request.request_id
        try:
            copied = self._copier.copy(request, answer, credentials)
        except SourceLoginRefused as exc:  # like a 498: re-read the secret once (a rotated SFTP key), then systemic
            fresh = None if again else self._rotate(credentials)
            if fresh is not None:
                self._complete(request, answer, fresh, again=True)
                return
            self.summary.add("systemic")
            self._stop(f"the file source refused the login: {exc}", systemic=True)
            self._d.store.release(rid, self._owner)
            return
        self.summary.add("archive_failures", copied.archive_failures)
        retry = retry_reason(copied, request, self._now(), self._s)
        if retry is not None:
            self.summary.add("transient_errors")
            logger.warning("file copy failed; retried later", extra={"request_id": rid, "reason": retry})
            self._d.store.reschedule(
                rid, self._owner, self._later(self._backoff(request)), request.transient_errors + 1, retry
            )
            return
        copied = copied.given_up()
        self.summary.add("bytes_archived", sum(f.bytes or 0 for f in copied.files))
        self.summary.add("files_archived", sum(1 for f in copied.files if f.archived))
        self._finish(request, Status.COMPLETED, **completed_fields(request, answer, copied))

    def _finish(self, request: PendingRequest, status: Status, **fields: Any) -> None:
        """Decide the terminal outcome (fields: any of Outcome's optional ones), record it, queue it for publishing."""
        outcome = replace(
            Outcome(
                request_id=request.request_id,
                status=status,
                kind=request.kind,
                submitted_at=request.submitted_at,
                finished_at=self._now(),
                attempts=request.attempts + 1,
                correlation=request.correlation,
                retry=request.retries,
            ),
            **fields,
        )
        self._batch.decide(outcome)  # recorded before publishing: a retry publishes exactly this

    # -- helpers -------------------------------------------------------------------------------

    def _now(self) -> int:
        return int(self._d.clock())

    def _backoff(self, request: PendingRequest) -> float:
        with self._lock:  # random.Random is not safe to share across threads
            return backoff_seconds(
                request.attempts, self._s.backoff_base_seconds, self._s.backoff_max_seconds, self._d.rng
            )

    def _later(self, delay: float) -> int:
        """At least a second ahead: a rescheduled item must leave this sweep's due range (next_check_at <= start)."""
        return self._now() + max(1, math.ceil(delay))

    def _expires_at(self, finished_at: int) -> int:
        return finished_at + self._s.retention_days * 86_400
