"""How the EventBridge door packs outcomes into PutEvents calls, and what it reports failed (issue 19): at most ten
entries and 256 KiB a call, an entry's size counted as EventBridge counts it (14 bytes for the time, then Source,
DetailType and Detail); a call that fails, an answer short of entries or without any fails exactly the outcomes it
does not confirm, and the calls after it are still made. An in-memory client records the calls."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError

from profile_poller.adapters.outcome_events import DETAIL_TYPE, SOURCE, EventBridgeNotifier
from profile_poller.core.message import build_message
from profile_poller.core.model import Kind, Outcome, Status

LIMIT = 256 * 1024


class RecordingEvents:
    """put_events as EventBridge answers it, unless `answers` scripts the next answers (an exception is raised)."""

    def __init__(self, *answers: dict[str, Any] | Exception) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self._answers = list(answers)

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # boto3 names it Entries
        self.calls.append(Entries)
        if self._answers:
            answer = self._answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"ev-{n}"} for n, _ in enumerate(Entries)]}


def outcome(rid: str, pad: int = 0) -> Outcome:
    """An outcome whose message grows with `pad` (correlation values of up to 1000 characters each)."""
    correlation = {f"k{at // 1000:02d}": "v" * min(1000, pad - at) for at in range(0, pad, 1000)}
    return Outcome(rid, Status.COMPLETED, Kind.GET, 1_800_000_000, 1_800_000_001, 1, correlation=correlation)


def entry_size(o: Outcome) -> int:
    return 14 + len(SOURCE) + len(DETAIL_TYPE) + len(build_message(o).body.encode())


def sized(rid: str, size: int) -> Outcome:
    """An outcome whose PutEvents entry is exactly `size` bytes."""
    pad = size - entry_size(outcome(rid))
    for _ in range(10):  # each correlation key adds a few bytes of JSON: close in on the exact fill
        pad -= entry_size(outcome(rid, pad)) - size
    for attempt in range(pad - 20, pad + 21):
        candidate = outcome(rid, attempt)
        if entry_size(candidate) == size:
            return candidate
    raise AssertionError(f"no outcome of {size} bytes")


def ids(call: list[dict[str, Any]]) -> list[str]:
    return [entry["Detail"].split('"event_id":"')[1].split('"')[0] for entry in call]


def test_outcomes_go_out_ten_to_a_call() -> None:
    client = RecordingEvents()
    outcomes = [outcome(f"r-{n}") for n in range(25)]
    assert EventBridgeNotifier(client, "bus").publish(outcomes) == set()
    assert [len(call) for call in client.calls] == [10, 10, 5]
    assert [e for call in client.calls for e in ids(call)] == [o.event_id for o in outcomes]
    assert {entry["EventBusName"] for call in client.calls for entry in call} == {"bus"}


@pytest.mark.parametrize("small_first", [0, 10], ids=["from-the-first-call", "after-a-full-call"])
def test_entries_of_exactly_256_kib_in_all_share_one_call_and_one_byte_more_starts_another(small_first: int) -> None:
    # Given five entries of 50,000 bytes and a sixth that brings the call to exactly 256 KiB
    small = [outcome(f"s-{n}") for n in range(small_first)]
    big = [sized(f"b-{n}", 50_000) for n in range(5)]
    exact = [*small, *big, sized("last", LIMIT - 5 * 50_000)]
    client = RecordingEvents()
    assert EventBridgeNotifier(client, "bus").publish(exact) == set()
    # Then they go in one call (after the call of ten small ones, if any)
    assert [len(call) for call in client.calls] == ([10] if small_first else []) + [6]
    # And with the sixth one byte larger, it goes in a call of its own
    over = [*small, *big, sized("last", LIMIT - 5 * 50_000 + 1)]
    client = RecordingEvents()
    assert EventBridgeNotifier(client, "bus").publish(over) == set()
    assert [len(call) for call in client.calls] == ([10] if small_first else []) + [5, 1]
    assert ids(client.calls[-1]) == ["last:COMPLETED"]


def test_a_call_that_fails_fails_its_own_outcomes_and_the_next_call_is_still_made() -> None:
    refused = ClientError({"Error": {"Code": "InternalException", "Message": "down"}}, "PutEvents")
    client = RecordingEvents(refused)
    outcomes = [outcome(f"r-{n}") for n in range(15)]
    failed = EventBridgeNotifier(client, "bus").publish(outcomes)
    assert failed == {o.event_id for o in outcomes[:10]}
    assert [len(call) for call in client.calls] == [10, 5]


def test_an_answer_short_of_entries_fails_the_outcomes_it_does_not_confirm() -> None:
    client = RecordingEvents({"FailedEntryCount": 0, "Entries": [{"EventId": "e-0"}, {"EventId": "e-1"}]})
    outcomes = [outcome(f"r-{n}") for n in range(4)]
    assert EventBridgeNotifier(client, "bus").publish(outcomes) == {o.event_id for o in outcomes[2:]}


def test_an_answer_without_entries_fails_every_outcome_of_its_call() -> None:
    client = RecordingEvents({"FailedEntryCount": 0})
    outcomes = [outcome(f"r-{n}") for n in range(3)]
    assert EventBridgeNotifier(client, "bus").publish(outcomes) == {o.event_id for o in outcomes}


def test_an_entry_refused_in_the_answer_fails_only_its_outcome() -> None:
    answer = {
        "FailedEntryCount": 1,
        "Entries": [
            {"EventId": "e-0"},
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow"},
            {"EventId": "e-2"},
        ],
    }
    outcomes = [outcome(f"r-{n}") for n in range(3)]
    assert EventBridgeNotifier(RecordingEvents(answer), "bus").publish(outcomes) == {"r-1:COMPLETED"}


def test_an_entry_the_answer_does_not_confirm_with_an_event_id_stays_pending() -> None:
    # Given an answer whose second entry carries neither an EventId nor an ErrorCode
    answer = {"FailedEntryCount": 0, "Entries": [{"EventId": "e-0"}, {}, {"EventId": "e-2"}]}
    outcomes = [outcome(f"r-{n}") for n in range(3)]
    # Then that outcome is not taken as put: it stays pending, to be put again by a later sweep
    assert EventBridgeNotifier(RecordingEvents(answer), "bus").publish(outcomes) == {"r-1:COMPLETED"}


def test_an_entry_that_names_an_error_is_put_again_even_if_it_carries_an_event_id() -> None:
    # Given an answer whose second entry names an error and still carries an EventId (at least once: a subscriber
    # deduplicates on event_id, but an outcome taken as put when it was not is lost)
    answer = {
        "FailedEntryCount": 1,
        "Entries": [{"EventId": "e-0"}, {"EventId": "e-1", "ErrorCode": "InternalFailure"}, {"EventId": "e-2"}],
    }
    outcomes = [outcome(f"r-{n}") for n in range(3)]
    # Then that outcome stays pending
    assert EventBridgeNotifier(RecordingEvents(answer), "bus").publish(outcomes) == {"r-1:COMPLETED"}


def test_an_event_over_256_kib_fails_alone_and_one_of_exactly_256_kib_goes_out() -> None:
    # Given an outcome whose entry is one byte over 256 KiB between two small ones, then one of exactly 256 KiB
    over, exact = sized("over", LIMIT + 1), sized("exact", LIMIT)
    outcomes = [outcome("r-0"), over, outcome("r-1"), exact]
    client = RecordingEvents()
    # When they are published, then only the one over the limit fails, never sent
    assert EventBridgeNotifier(client, "bus").publish(outcomes) == {"over:COMPLETED"}
    # And the others go out, the one of exactly 256 KiB in a call of its own
    assert [ids(call) for call in client.calls] == [["r-0:COMPLETED", "r-1:COMPLETED"], ["exact:COMPLETED"]]


def test_the_operator_is_told_which_outcome_was_too_large_and_that_it_was_the_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given an outcome whose PutEvents entry is one byte over 256 KiB
    over = sized("over", LIMIT + 1)
    # When it is put, then the error line names it and says it was the EventBridge event (not the SNS message)
    with caplog.at_level(logging.ERROR, logger="profile-poller"):
        assert EventBridgeNotifier(RecordingEvents(), "bus").publish([over]) == {"over:COMPLETED"}
    [line] = [r for r in caplog.records if getattr(r, "event_id", None) == over.event_id]
    assert line.levelno == logging.ERROR and line.getMessage().split()[0] == "event"
