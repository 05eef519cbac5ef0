"""Every value of an outcome that comes from outside is bounded when the outcome is built: the finish time in
milliseconds, the API's code and description, and each file's source and reason."""

from __future__ import annotations

from profile_poller.core.model import Kind, Outcome, Status, StoredFile


def test_every_outside_value_of_an_outcome_is_clipped_or_normalised() -> None:
    # Given an outcome built from over-long values and a finish time in milliseconds
    lost = StoredFile.not_archived("file", "https://files.example/" + "s" * 3000, "r" * 1500)
    outcome = Outcome(
        "r1",
        Status.FAILED,
        Kind.UPDATE,
        submitted_at=1_800_000_000,
        finished_at=1_800_000_100_123,
        attempts=1,
        files=(lost,),
        api_code="c" * 100,
        api_description="d" * 400,
    )
    # Then each is as a subscriber and the table receive it: seconds, and cut texts ending in "..."
    assert outcome.finished_at == 1_800_000_100
    assert outcome.api_code == "c" * 61 + "..."
    assert outcome.api_description == "d" * 297 + "..."
    [entry] = outcome.files
    assert entry.source == ("https://files.example/" + "s" * 3000)[:2045] + "..."
    assert entry.reason == "r" * 997 + "..."
