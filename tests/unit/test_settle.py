"""Settling one claimed request, on the Settler itself: the rotated SFTP login, the lease extension before a copy,
the counters of a completed request, a rejected key, and what finish/release/retry write (fakes only)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

import pytest

from profile_poller.core.classify import Finished, KeyRejected, Pending, Transient
from profile_poller.core.copier import Copied, FileCopier
from profile_poller.core.items import PendingRequest
from profile_poller.core.model import Outcome, Status, StoredFile
from profile_poller.core.outcomes import OutcomeBatch, SweepSummary
from profile_poller.core.ports import Credentials, SourceLoginRefused, StoreError
from profile_poller.core.schedule import Due, check_at
from profile_poller.core.settings import Settings
from profile_poller.core.settle import SMALL_FILE_BYTES, Claimed, Settler, TableFailed
from tests.fakes import FakeClock, FakeStore

NOW = 1_800_000_000
OWNER = "sweep-1"
OLD_KEY = Credentials("key-1", "https://tenant.example")
NEW_KEY = Credentials("key-2", "https://tenant.example")
SETTINGS = Settings(table_name="t", bucket_name="b", topic_arn="arn:topic", secret_id="s")  # HTTP timeout 10 s
ANSWER = Finished(file="/files/a.csv", error_file=None, update_count=3)
ARCHIVED = StoredFile("file", "/files/a.csv", "s3://archive/a.csv", 1200, "sha")


class StubCopier:
    """Copies by script: each call takes the next result (an exception is raised); `sizes` go to before_copy."""

    def __init__(self, *results: Copied | Exception, sizes: tuple[int | None, ...] = (), refusals: int = 0) -> None:
        self.results = list(results)
        self.sizes = sizes
        self.refusals = refusals  # what discard_unarchived reports as refused removals
        self.calls: list[tuple[Finished, Credentials]] = []

    def copy(
        self,
        request: PendingRequest,
        answer: Finished,
        credentials: Credentials,
        before_copy: Callable[[int | None], None] | None = None,
    ) -> Copied:
        self.calls.append((answer, credentials))
        for size in self.sizes:
            assert before_copy is not None
            before_copy(size)
        result = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        if isinstance(result, Exception):
            raise result
        return result

    def discard_unarchived(self, request: PendingRequest, files: tuple[StoredFile, ...]) -> int:
        return self.refusals


class Decisions:
    """Stands in for the OutcomeBatch: records each decided outcome and the next check it set."""

    def __init__(self) -> None:
        self.made: list[tuple[Outcome, Decimal]] = []
        self.tokens: list[str | None] = []

    def decide(self, outcome: Outcome, next_check_at: Decimal, task_token: str | None = None) -> None:
        self.made.append((outcome, next_check_at))
        self.tokens.append(task_token)


class RefusingExtend(FakeStore):
    def extend(self, request_id: str, owner: str, next_check_at: Decimal) -> None:
        raise StoreError("table throttled")


class Rig:
    def __init__(self, copier: StubCopier, store: FakeStore | None = None, fresh: Credentials | None = NEW_KEY) -> None:
        self.clock = FakeClock(float(NOW))
        self.store = store or FakeStore()
        self.summary = SweepSummary()
        self.decisions = Decisions()
        self.copier = copier
        self.stops: list[tuple[str, bool]] = []
        self.rotated: list[Credentials] = []
        self.fresh = fresh
        self.settler = Settler(
            SETTINGS,
            self.store,
            OWNER,
            summary=self.summary,
            batch=cast(OutcomeBatch, self.decisions),
            copier=cast(FileCopier, copier),
            clock=self.clock,
            stop=lambda reason, systemic: self.stops.append((reason, systemic)),
            rotate=self._rotate,
            throttled=lambda retry_after: None,
        )

    def _rotate(self, credentials: Credentials) -> Credentials | None:
        self.rotated.append(credentials)
        return self.fresh

    def claim(self, hold: int = 30, attempts: int = 2, was_due: Decimal | None = None, **extra: Any) -> Claimed:
        """Claim r1 as the sweep does: due at `was_due`, the next check (and the lease) `hold` seconds ahead."""
        due = Due("r1", was_due if was_due is not None else Decimal(0))
        self.store.put_pending("r1", NOW - 100, **extra, next_check_at=due.next_check_at)
        scheduled = check_at(NOW + hold, attempts)
        item = self.store.claim(due, OWNER, NOW, scheduled, attempts)
        assert item is not None
        return Claimed(PendingRequest.from_item(item, NOW), due, scheduled)


# --- a refused SFTP login: the secret is re-read once ---------------------------------------------------------------


def test_a_refused_login_is_retried_once_with_the_rotated_key_and_the_request_completes() -> None:
    # Given a file source that refuses the old key and accepts the rotated one
    rig = Rig(StubCopier(SourceLoginRefused("auth failed"), Copied((ARCHIVED,), None)))
    claimed = rig.claim()
    # When the finished answer is settled
    rig.settler.act(claimed, ANSWER, OLD_KEY)
    # Then the secret was re-read for the refused key, the same answer copied again with the new key, and completed
    assert rig.rotated == [OLD_KEY]
    assert rig.copier.calls == [(ANSWER, OLD_KEY), (ANSWER, NEW_KEY)]
    assert rig.stops == []
    [(outcome, _)] = rig.decisions.made
    assert (outcome.status, outcome.files) == (Status.COMPLETED, (ARCHIVED,))


def test_a_login_refused_again_after_the_rotation_stops_the_sweep_and_releases_the_request() -> None:
    # Given a file source that refuses every key, and a request claimed at its third attempt
    rig = Rig(StubCopier(SourceLoginRefused("auth failed")))
    was_due = check_at(NOW - 5, 3)
    claimed = rig.claim(attempts=4, was_due=was_due)
    # When the finished answer is settled
    rig.settler.act(claimed, ANSWER, OLD_KEY)
    # Then the secret was re-read once only, the sweep stops as systemic and the request is due now, behind the
    # requests already due (issue 17, item 5), its attempt not counted, unleased
    assert rig.rotated == [OLD_KEY]
    assert len(rig.copier.calls) == 2
    assert rig.stops == [("the file source refused the login: auth failed", True)]
    assert rig.summary.counts["systemic"] == 1
    assert rig.decisions.made == []
    item = rig.store.items["r1"]
    assert (item["next_check_at"], item["attempts"]) == (check_at(NOW, 3), 3)
    assert "lease_owner" not in item and "lease_until" not in item


def test_a_refused_login_with_no_new_key_in_the_secret_is_systemic_at_once() -> None:
    rig = Rig(StubCopier(SourceLoginRefused("auth failed")), fresh=None)
    rig.settler.act(rig.claim(), ANSWER, OLD_KEY)
    assert len(rig.copier.calls) == 1
    assert rig.stops == [("the file source refused the login: auth failed", True)]


# --- the lease before a copy -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "lease_left", "extended"),
    [
        (SMALL_FILE_BYTES, 21, False),  # a small file, a lease of 2 x HTTP_TIMEOUT_SECONDS + 1 left: copied as is
        (SMALL_FILE_BYTES, 20, True),  # one second less: the lease is extended first
        (SMALL_FILE_BYTES + 1, 900, True),  # a large file always extends
        (None, 900, True),  # so does an unsized one
    ],
)
def test_the_lease_is_extended_before_a_copy_only_for_a_large_file_or_a_lease_nearly_over(
    size: int | None, lease_left: int, extended: bool
) -> None:
    rig = Rig(StubCopier(Copied((ARCHIVED,), None), sizes=(size,)))
    rig.settler.act(rig.claim(hold=lease_left), ANSWER, OLD_KEY)
    assert rig.store.extended == (["r1"] if extended else [])


def test_the_hold_is_twice_the_http_timeout_plus_a_second() -> None:
    assert Rig(StubCopier(Copied((), None))).settler.hold == 21


def test_a_request_with_two_large_files_extends_its_lease_once() -> None:
    rig = Rig(StubCopier(Copied((ARCHIVED,), None), sizes=(None, SMALL_FILE_BYTES * 2)))
    claimed = rig.claim(attempts=2)
    rig.settler.act(claimed, ANSWER, OLD_KEY)
    assert rig.store.extended == ["r1"]
    assert claimed.extended and claimed.lease_until == check_at(NOW + SETTINGS.lease_seconds, 2)


def test_an_extension_the_table_refuses_is_a_table_failure_with_its_reason() -> None:
    rig = Rig(StubCopier(Copied((ARCHIVED,), None), sizes=(None,)), store=RefusingExtend())
    with pytest.raises(TableFailed) as raised:
        rig.settler.act(rig.claim(), ANSWER, OLD_KEY)
    assert str(raised.value) == "table throttled"


# --- what a completed request counts ---------------------------------------------------------------------------------


def test_a_completed_request_counts_its_archived_files_and_bytes_and_the_refused_leftover_removals() -> None:
    # Given one archived file and one not archived (no size), and an archive refusing two leftover removals
    gone = StoredFile.not_archived("error-file", "/files/e.csv", "host not allowed")
    rig = Rig(StubCopier(Copied((gone, ARCHIVED), None), refusals=2))
    # When the finished answer is settled
    rig.settler.act(rig.claim(), ANSWER, OLD_KEY)
    # Then
    counts = rig.summary.counts
    assert (counts["files_archived"], counts["bytes_archived"], counts["archive_failures"]) == (1, 1200, 2)


def test_a_completed_request_with_two_archived_files_counts_two() -> None:
    other = StoredFile("error-file", "/files/e.csv", "s3://archive/e.csv", 10, "sha")
    rig = Rig(StubCopier(Copied((other, ARCHIVED), None)))
    rig.settler.act(rig.claim(), ANSWER, OLD_KEY)
    assert (rig.summary.counts["files_archived"], rig.summary.counts["bytes_archived"]) == (2, 1210)


# --- a rejected key, finish, release, retry --------------------------------------------------------------------------


def test_a_rejected_key_reaching_the_settler_releases_the_request_and_stops_the_sweep() -> None:
    rig = Rig(StubCopier(Copied((), None)))
    was_due = check_at(NOW - 5, 3)
    rig.settler.act(rig.claim(attempts=4, was_due=was_due), KeyRejected("the API key was rejected (498)"), OLD_KEY)
    assert rig.stops == [("the API key was rejected (498)", True)]
    item = rig.store.items["r1"]
    assert (item["next_check_at"], item["attempts"], "lease_owner" in item) == (was_due, 3, False)


def test_a_decided_outcome_carries_the_correlation_and_retry_and_holds_the_lease_for_publishing() -> None:
    rig = Rig(StubCopier(Copied((), None)))
    claimed = rig.claim(attempts=2, correlation={"campaign": "spring"}, retries=1)
    rig.settler.finish(claimed, Status.EXPIRED, reason="too old")
    [(outcome, next_check_at)] = rig.decisions.made
    assert (outcome.correlation, outcome.retry, outcome.event_id) == ({"campaign": "spring"}, 1, "r1:EXPIRED:retry-1")
    assert next_check_at == check_at(NOW + SETTINGS.lease_seconds, 2)


def test_a_transient_error_stores_its_reason_and_count() -> None:
    rig = Rig(StubCopier(Copied((), None)))
    claimed = rig.claim(hold=30, attempts=2)
    rig.settler.act(claimed, Transient("read timed out"), OLD_KEY)
    item = rig.store.items["r1"]
    assert (item["last_error"], item["transient_errors"], item["next_check_at"]) == (
        "read timed out",
        1,
        check_at(NOW + 30, 2),
    )


def test_a_decided_outcome_with_a_waiting_task_holds_the_lease_for_publishing_and_keeps_its_token() -> None:
    rig = Rig(StubCopier(Copied((), None)))
    claimed = rig.claim(attempts=2, task_token="tok")
    rig.settler.finish(claimed, Status.COMPLETED)
    [(_, next_check_at)] = rig.decisions.made
    assert next_check_at == check_at(NOW + SETTINGS.lease_seconds, 2) and rig.decisions.tokens == ["tok"]


def test_a_transient_error_near_max_age_is_checked_last_when_max_age_runs_out_with_its_reason_and_count() -> None:
    # Given a request submitted 100 s ago, claimed with a next check past its MAX_AGE_SECONDS
    rig = Rig(StubCopier(Copied((), None)))
    claimed = rig.claim(hold=SETTINGS.max_age_seconds, attempts=2)
    # When its status call fails transiently
    rig.settler.act(claimed, Transient("read timed out"), OLD_KEY)
    # Then it is checked again when MAX_AGE_SECONDS runs out, the failure recorded and counted
    item = rig.store.items["r1"]
    assert (item["last_error"], item["transient_errors"], item["next_check_at"]) == (
        "read timed out",
        1,
        check_at(NOW - 100 + SETTINGS.max_age_seconds, 2),
    )


def test_a_pending_answer_whose_claim_set_the_last_check_costs_no_write() -> None:
    # Given a request whose claim set its next check exactly when its MAX_AGE_SECONDS runs out
    rig = Rig(StubCopier(Copied((), None)))
    claimed = rig.claim(hold=SETTINGS.max_age_seconds - 100, attempts=2)
    writes = rig.store.writes
    # When the API says it is still pending
    rig.settler.act(claimed, Pending(), OLD_KEY)
    # Then nothing more is written: the claim's next check and lease stand
    item = rig.store.items["r1"]
    assert rig.store.writes == writes and item["lease_owner"] == OWNER
    assert item["next_check_at"] == check_at(NOW - 100 + SETTINGS.max_age_seconds, 2)
