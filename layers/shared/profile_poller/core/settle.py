"""Settling one claimed request once the API has answered: what is written, copied and decided for each verdict.

The claim already scheduled the next check, so "still processing" writes nothing here; every other verdict
writes once more (reschedule, release or decide), and a finished request with a large file extends its lease
before the copy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from .classify import Failed, Finished, KeyRejected, Pending, Systemic, Throttled, Transient, Verdict
from .completion import answered_final, completed_fields, retry_reason
from .copier import FileCopier
from .items import PendingRequest
from .log import logger
from .model import Outcome, Status
from .outcomes import OutcomeBatch, SweepSummary
from .ports import Credentials, RequestStore, SourceLoginRefused, StoreError
from .schedule import Due, check_at
from .settings import Settings

SMALL_FILE_BYTES = 8 * 1024 * 1024  # copied within a check's hold; a larger or unsized file extends the lease first


@dataclass
class Claimed:
    """A request this sweep holds: what it read from the index, the next check its claim set, and when its
    lease ends (at that next check, unless extended for a copy)."""

    request: PendingRequest
    due: Due
    scheduled: Decimal  # the next check the claim set; where a retry comes back even after an extension
    extended: bool = False
    lease_until: Decimal = field(init=False)

    def __post_init__(self) -> None:
        self.lease_until = self.scheduled


class TableFailed(Exception):
    """Extending a lease failed on the table's side (not the archive's): the sweep stops as for any table failure."""


class Settler:
    def __init__(
        self,
        settings: Settings,
        store: RequestStore,
        owner: str,
        *,
        summary: SweepSummary,
        batch: OutcomeBatch,
        copier: FileCopier,
        clock: Callable[[], float],
        stop: Callable[[str, bool], object],
        rotate: Callable[[Credentials], Credentials | None],
        throttled: Callable[[float | None], None],
        heartbeat: Callable[[str, str | None], None] = lambda request_id, token: None,
    ) -> None:
        self._heartbeat = heartbeat  # issue 19: a check that leaves the request pending tells its waiting task
        self._s = settings
        self._store = store
        self._owner = owner
        self._summary = summary
        self._batch = batch
        self._copier = copier
        self._clock = clock
        self._stop = stop
        self._rotate = rotate
        self._throttled = throttled
        # a claim holds the request at least this long: time to ask (two tries on a rotated key) before it is due
        self.hold = math.ceil(2 * settings.http_timeout_seconds) + 1

    def act(self, claimed: Claimed, verdict: Verdict, credentials: Credentials, charge: bool = True) -> None:
        """Settle one answer; `charge` False: a transient failure is not counted (core/outage.py)."""
        rid = claimed.request.request_id
        if isinstance(verdict, Throttled):  # issue 19 (the other verdicts that leave it pending: retry_later)
            self._alive(claimed)
        match verdict:
            case Pending():
                self._summary.add("still_pending")
                self.retry_later(claimed, transient=None)
            case Transient(reason):
                self._summary.add("transient_errors")
                logger.warning("transient error", extra={"request_id": rid, "reason": reason, "charged": charge})
                self.retry_later(claimed, transient=reason, charge=charge)
            case Throttled(retry_after):
                self._summary.add("throttled")
                self._throttled(retry_after)  # the shared rate drops; the sweep goes on, slower
                if self._expired(claimed):  # a tenant throttled for days still sees its requests end
                    return
                later = claimed.scheduled
                if retry_after is not None:  # a Retry-After of years is clamped: never parked past the backoff cap
                    delay = max(1, math.ceil(min(retry_after, self._s.backoff_max_seconds)))
                    later = check_at(self._now() + delay, claimed.request.attempts)
                later = min(later, self._last_check(claimed))
                self._store.reschedule(rid, self._owner, later, claimed.request.transient_errors, "throttled (429)")
            case Systemic(code, reason):
                self._summary.add("systemic")
                self._stop(f"systemic API failure {code}: {reason}", True)
                self.release(claimed, behind=True)
            case Failed(code, description):
                self.finish(
                    claimed,
                    Status.FAILED,
                    api_code=code,
                    api_description=description,
                    reason=f"the API answered code {code}",
                )
            case Finished():
                self._complete(claimed, verdict, credentials)
            case KeyRejected(reason):  # the asker turns these into Systemic; kept for exhaustiveness
                self.release(claimed)
                self._stop(reason, True)

    def retry_later(self, claimed: Claimed, transient: str | None, charge: bool = True) -> None:
        """Checked again later: a transient failure is charged (counted toward MAX_TRANSIENT_ERRORS) unless
        `charge` is False (core/outage.py: others got no answers either); an answer resets the count."""
        request = claimed.request
        errors = 0 if transient is None else request.transient_errors + int(charge)
        if transient is not None and charge and errors >= self._s.max_transient_errors:
            self.finish(claimed, Status.FAILED, reason=f"{errors} transient errors in a row; last: {transient}")
            return
        if self._expired(claimed):
            return
        self._alive(claimed)  # issue 19: it stays pending
        if claimed.scheduled > self._last_check(claimed):  # never checked again past MAX_AGE_SECONDS
            self._store.reschedule(request.request_id, self._owner, self._last_check(claimed), errors, transient)
        elif transient is not None or errors != request.transient_errors:  # the claim set the next check already:
            # the count changes, or the failure is recorded (last_error) for the operator, charged or not
            self._store.reschedule(request.request_id, self._owner, claimed.scheduled, errors, transient)

    def _hold_for_copy(self, claimed: Claimed, size: int | None) -> None:
        """Before copying a file: a large or unsized one, or a lease nearly over, extends the lease first."""
        now = self._now()
        if claimed.extended or (
            size is not None and size <= SMALL_FILE_BYTES and claimed.lease_until - now >= self.hold
        ):
            return
        until = check_at(now + self._s.lease_seconds, claimed.request.attempts)
        try:
            self._store.extend(claimed.request.request_id, self._owner, until)
        except StoreError as exc:
            raise TableFailed(str(exc)) from exc
        claimed.lease_until, claimed.extended = until, True

    def _complete(self, claimed: Claimed, answer: Finished, credentials: Credentials, again: bool = False) -> None:
        request = claimed.request
        rid = request.request_id
        try:
            copied = self._copier.copy(request, answer, credentials, lambda size: self._hold_for_copy(claimed, size))
        except SourceLoginRefused as exc:  # like a 498: re-read the secret once (a rotated SFTP key), then systemic
            fresh = None if again else self._rotate(credentials)
            if fresh is not None:
                self._complete(claimed, answer, fresh, again=True)
                return
            self._summary.add("systemic")
            self._stop(f"the file source refused the login: {exc}", True)
            self.release(claimed, behind=True)
            return
        self._summary.add("archive_failures", copied.archive_failures)
        retry = retry_reason(copied, request, self._now(), self._s)
        if retry is not None:
            self._summary.add("transient_errors")
            logger.warning("file copy failed; retried later", extra={"request_id": rid, "reason": retry})
            self._alive(claimed)
            later = min(claimed.scheduled, self._last_check(claimed))  # a copy retry never comes back past MAX_AGE
            self._store.reschedule(rid, self._owner, later, request.transient_errors + 1, retry)
            return
        copied = copied.given_up()
        self._summary.add("archive_failures", self._copier.discard_unarchived(request, copied.files))
        self._summary.add("bytes_archived", sum(f.bytes or 0 for f in copied.files))
        self._summary.add("files_archived", sum(1 for f in copied.files if f.archived))
        self.finish(claimed, Status.COMPLETED, **completed_fields(request, answer, copied))

    def finish(self, claimed: Claimed, status: Status, **fields: Any) -> None:
        """Decide the terminal outcome (fields: any of Outcome's optional ones), record it, queue it for publishing."""
        request = claimed.request
        now = self._now()
        outcome = replace(
            Outcome(
                request_id=request.request_id,
                status=status,
                kind=request.kind,
                submitted_at=request.submitted_at,
                finished_at=now,
                attempts=request.attempts,
                correlation=request.correlation,
                retry=request.retries,
            ),
            **fields,
        )
        # before publishing: a retry publishes exactly this; the lease now covers the publishing
        until = check_at(now + self._s.lease_seconds, request.attempts)
        if request.task_token is None:
            self._batch.decide(outcome, until)
        else:  # issue 19: the batch calls the waiting task back when it publishes
            self._batch.decide(outcome, until, request.task_token)

    def release(self, claimed: Claimed, behind: bool = False) -> None:
        """Give back a request without counting the attempt, unleased: due again where it was, or (`behind`: the
        request whose answer stopped the sweep) due now, behind every request already due, so the next sweep
        serves the others before it meets this one again. Past MAX_AGE_SECONDS it is EXPIRED instead, without a
        status call (core/expiry.py): a stopped sweep, or one that keeps stopping, still ends it on time."""
        due = claimed.due
        if self._expired(claimed):
            return
        self._alive(claimed)
        at = check_at(self._now(), due.attempts) if behind else due.next_check_at
        self._store.release(due.request_id, self._owner, max(at, due.next_check_at), due.attempts)

    # --- heartbeats (issue 19, review item 3): every claim that leaves the request pending tells its waiting task
    def _alive(self, claimed: Claimed) -> None:
        """Send the heartbeat (best effort, within the sweep's budget: core/callbacks.py)."""
        self._heartbeat(claimed.request.request_id, claimed.request.task_token)

    # --- end heartbeats

    def _expired(self, claimed: Claimed) -> bool:
        """Past MAX_AGE_SECONDS (from the submission or the last retry): decided EXPIRED now, True. Not a request
        whose final answer came and whose file copy is being retried: the next check that asks completes it."""
        if self._now() < claimed.request.age_from + self._s.max_age_seconds or answered_final(claimed.request):
            return False
        self.finish(claimed, Status.EXPIRED, reason=f"no final answer within MAX_AGE_SECONDS={self._s.max_age_seconds}")
        return True

    def _last_check(self, claimed: Claimed) -> Decimal:
        """The latest next check a pending request may get: the moment its MAX_AGE_SECONDS runs out."""
        return check_at(claimed.request.age_from + self._s.max_age_seconds, claimed.request.attempts)

    def _now(self) -> int:
        return int(self._clock())
