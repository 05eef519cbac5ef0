"""An outcome the table refuses for its size (ItemRejected) is kept without its error details: what is dropped,
what stays, and what the reason says, both when the decision is written and when the terminal write is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from profile_poller.core.callbacks import Redelivery
from profile_poller.core.model import ErrorRow, Kind, Outcome, Status, StoredFile
from profile_poller.core.outcomes import OutcomeBatch, SweepSummary, without_details
from profile_poller.core.ports import ItemRejected
from profile_poller.core.schedule import check_at
from tests.fakes import FakeNotifier, FakeStore

OWNER = "owner-1"
REFUSAL = "the table refused the write for big: Item size has exceeded the maximum allowed size"
NOTE = f"the table refused the full outcome, error details dropped ({REFUSAL})"


def big(reason: str | None = "the API answered code 3005") -> Outcome:
    return Outcome(
        "big",
        Status.COMPLETED,
        Kind.UPDATE,
        submitted_at=1_800_000_000,
        finished_at=1_800_000_100,
        attempts=3,
        update_count=7,
        error_count=2,
        errors_by_code={"3005": 1, "7031": 1},
        first_errors=(ErrorRow("3005", "Invalid Profile ID", "1"), ErrorRow("7031", "x" * 200, "2")),
        files=(StoredFile("error-file", "/e.csv", "s3://archive/e.csv", 40, "ab" * 32),),
        api_code="1010",
        api_description="Completed with errors",
        reason=reason,
        correlation={"campaign": "spring"},
    )


class RefusingStore(FakeStore):
    """Refuses the first `refuse_decide` decisions and `refuse_finish` terminal writes that carry error details."""

    def __init__(self, refuse_decide: int = 0, refuse_finish: int = 0) -> None:
        super().__init__()
        self.refuse_decide, self.refuse_finish = refuse_decide, refuse_finish
        self.decided: list[tuple[str | None, Decimal]] = []  # (reason, next_check_at) of each decision taken
        self.put_pending("big", 1_800_000_000, lease_owner=OWNER, lease_until=1_800_000_200)

    def decide(self, outcome: Outcome, owner: str, next_check_at: Decimal) -> None:
        if self.refuse_decide:
            self.refuse_decide -= 1
            raise ItemRejected(REFUSAL)
        super().decide(outcome, owner, next_check_at)
        self.decided.append((outcome.reason, next_check_at))

    def finish(self, outcome: Outcome, owner: str, expires_at: int) -> None:
        if self.refuse_finish:
            self.refuse_finish -= 1
            raise ItemRejected(REFUSAL)
        super().finish(outcome, owner, expires_at)


def settle(store: RefusingStore, outcome: Outcome) -> tuple[FakeNotifier, SweepSummary]:
    notifier, summary = FakeNotifier(), SweepSummary()
    batch = OutcomeBatch(store, notifier, OWNER, summary, lambda finished: finished + 86_400)
    batch.decide(outcome, Decimal(1_800_000_400))
    batch.flush()
    return notifier, summary


def assert_kept_without_details(stored: dict[str, Any], reason: str) -> None:
    assert stored["errors_by_code"] == {}
    assert stored["first_errors"] == []
    assert stored["api_description"] is None
    assert stored["reason"] == reason
    # what a subscriber needs to act on stays: the counts, the files, the code, the correlation
    assert (stored["status"], stored["update_count"], stored["error_count"]) == ("COMPLETED", 7, 2)
    assert stored["files"]["error-file"]["s3_uri"] == "s3://archive/e.csv"
    assert stored["api_code"] == "1010" and stored["correlation"] == {"campaign": "spring"}
    assert (stored["submitted_at"], stored["finished_at"], stored["attempts"]) == (1_800_000_000, 1_800_000_100, 3)


def test_a_decision_too_large_for_the_table_is_recorded_and_published_without_its_error_details() -> None:
    # Given a table that refuses the decided outcome once (the item would pass 400 KB)
    store = RefusingStore(refuse_decide=1)
    # When the batch decides and publishes it
    notifier, summary = settle(store, big())
    # Then the request is completed with the details dropped, the reason saying so before the original one
    item = store.items["big"]
    assert item["status"] == "COMPLETED" and "settling" not in item
    assert_kept_without_details(item["outcome"], f"{NOTE}; the API answered code 3005")
    # the slim decision holds the lease over the publishing, as the full one would have
    assert store.decided == [(f"{NOTE}; the API answered code 3005", Decimal(1_800_000_400))]
    # and the subscriber gets exactly what was stored, under the same event id
    [sent] = notifier.published
    assert sent.event_id == "big:COMPLETED"
    assert (sent.errors_by_code, sent.first_errors, sent.api_description) == ({}, (), None)
    assert sent.reason == f"{NOTE}; the API answered code 3005"
    assert summary.counts["completed"] == 1 and summary.counts["errors"] == 0


def test_without_a_reason_of_its_own_the_reason_is_the_note_alone() -> None:
    store = RefusingStore(refuse_decide=1)
    settle(store, big(reason=None))
    assert store.items["big"]["outcome"]["reason"] == NOTE


def test_the_refusal_quoted_in_the_reason_is_cut_at_300_characters() -> None:
    # Given a refusal message of 1,000 characters
    why = "v" * 299 + "END" + "w" * 698
    # When the details are dropped for it
    slim = without_details(big(reason=None), why)
    # Then the reason quotes its first 300 characters only
    assert slim.reason == f"the table refused the full outcome, error details dropped ({'v' * 299}E)"


def test_a_terminal_write_too_large_for_the_table_is_stored_without_error_details() -> None:
    # Given a table that takes the decision but refuses the terminal write once
    store = RefusingStore(refuse_finish=1)
    # When the batch settles the outcome
    notifier, summary = settle(store, big())
    # Then the item is finished, with the details dropped and the reason saying so; the message went out in full
    item = store.items["big"]
    assert item["status"] == "COMPLETED" and item["expires_at"] == 1_800_000_100 + 86_400
    assert_kept_without_details(item["outcome"], f"{NOTE}; the API answered code 3005")
    [sent] = notifier.published
    assert sent.errors_by_code == {"3005": 1, "7031": 1}
    assert summary.counts["completed"] == 1 and summary.counts["errors"] == 0


def test_a_decision_refused_even_without_details_goes_up_to_the_sweep_and_nothing_is_sent() -> None:
    # Given a table that refuses the decision with and without details
    store = RefusingStore(refuse_decide=2)
    notifier, summary = FakeNotifier(), SweepSummary()
    batch = OutcomeBatch(store, notifier, OWNER, summary, lambda finished: finished)
    # When the batch decides it, Then the refusal goes up (the sweep counts an error for this request)
    with pytest.raises(ItemRejected):
        batch.decide(big(), Decimal(1_800_000_400))
    batch.flush()
    # and the request is still pending, undecided, nothing published
    assert store.items["big"]["status"] == "PENDING" and "settling" not in store.items["big"]
    assert notifier.calls == 0


def test_a_terminal_write_refused_even_without_details_is_an_error_and_the_request_stays_pending() -> None:
    store = RefusingStore(refuse_finish=2)
    notifier, summary = settle(store, big())
    assert summary.counts["errors"] == 1 and summary.counts["completed"] == 0
    assert store.items["big"]["status"] == "PENDING" and store.items["big"]["settling"]["errors_by_code"]
    assert len(notifier.published) == 1


def test_an_outcome_the_notifier_refuses_stays_pending_with_its_attempts_due_again_after_a_backoff() -> None:
    # Given a notifier that refuses this request's entry once
    store = RefusingStore()
    notifier = FakeNotifier()
    notifier.refuse_once = {"big"}
    batch = OutcomeBatch(store, notifier, OWNER, SweepSummary(), lambda finished: finished)
    batch.redelivery = Redelivery(lambda: 1_800_000_100, base_seconds=30, max_seconds=1800)
    # When the batch decides and publishes it
    batch.decide(big(), Decimal(1_800_000_400))
    batch.flush()
    # Then the request stays pending, unleased, with its attempt count, due again after BACKOFF_BASE_SECONDS
    # (not at once: a sweep that stays up would announce it every pass)
    item = store.items["big"]
    assert item["status"] == "PENDING" and "lease_owner" not in item
    assert item["attempts"] == 3 and item["next_check_at"] == check_at(1_800_000_130, 3)
    assert notifier.published == []
