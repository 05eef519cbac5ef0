"""A lost lease on one outcome of a batch does not hold back the others; file values that are not URLs keep
their path, without query, fragment or credentials, in the message and in the archive key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from profile_poller.core.message import public_source
from profile_poller.core.model import Kind, Outcome, Status, archive_key
from profile_poller.core.outcomes import OutcomeBatch, SweepSummary
from profile_poller.core.ports import LeaseLost
from tests.fakes import FakeNotifier, FakeStore

OWNER = "owner-1"


class LosesB(FakeStore):
    def finish(self, outcome: Outcome, owner: str, expires_at: int) -> None:
        if outcome.request_id == "b":
            raise LeaseLost("b")
        super().finish(outcome, owner, expires_at)


def test_a_lease_lost_on_one_outcome_does_not_stop_the_terminal_writes_of_the_rest_of_the_batch() -> None:
    # Given a batch of three decided outcomes, the second of which has lost its lease
    store, summary = LosesB(), SweepSummary()
    for rid in "abc":
        store.put_pending(rid, 1_800_000_000, lease_owner=OWNER, lease_until=1_800_000_200)
    batch = OutcomeBatch(store, FakeNotifier(), OWNER, summary, lambda finished: finished + 86_400)
    for rid in "abc":
        batch.decide(Outcome(rid, Status.COMPLETED, Kind.GET, 1_800_000_000, 1_800_000_100, 1), Decimal(1_800_000_400))
    # When it is published and settled
    batch.flush()
    # Then a and c are COMPLETED and b is left to whoever holds its lease
    assert [store.items[rid]["status"] for rid in "abc"] == ["COMPLETED", "PENDING", "COMPLETED"]
    assert summary.counts["leases_lost"] == 1


@pytest.mark.parametrize(
    ("source", "public"),
    [
        ("https://[x/a b.csv#one#two", "https://[x/a b.csv"),
        ("https://[x/a.csv?one?two", "https://[x/a.csv"),
        ("sftp://u:pw@[::1/out/e.csv#f", "sftp://[::1/out/e.csv"),
    ],
    ids=["fragments", "queries", "credentials"],
)
def test_a_source_that_is_not_a_url_is_cut_at_its_first_query_or_fragment(source: str, public: str) -> None:
    assert public_source(source) == public


def test_the_archive_key_of_a_source_that_is_not_a_url_takes_the_extension_before_the_first_query() -> None:
    assert archive_key("p", "r1", 1_800_000_000, "file", "https://[x/a.csv?b.txt?c") == "p/2027/01/15/r1/file.csv"
