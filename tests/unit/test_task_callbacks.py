"""Which Step Functions callback a finished request makes, and the cause clipped to 32,768 characters that stays
valid JSON (issue 19). Pure decisions: no AWS, no sweep."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from profile_poller.core.callbacks import (
    CAUSE_MAX_CHARS,
    DELIVERY_RETRY_SECONDS,
    ERROR_EXPIRED,
    ERROR_FAILED,
    Callbacks,
    Fail,
    Redelivery,
    Succeed,
    Unavailable,
    clip_cause,
    final_call,
    is_refused,
    valid_token,
)
from profile_poller.core.message import build_message, message_body
from profile_poller.core.model import ErrorRow, Kind, Outcome, Status, StoredFile


def outcome(status: Status = Status.COMPLETED, **fields: object) -> Outcome:
    base = Outcome("r-1", status, Kind.UPDATE, 1_800_000_000, 1_800_000_100, 3, correlation={"order": "42"})
    return Outcome(**{**base.__dict__, **fields})


def test_a_completed_request_sends_task_success_with_the_subscribers_message_as_output() -> None:
    done = outcome(update_count=7)
    call = final_call(done)
    assert call == Succeed(build_message(done).body)
    assert json.loads(call.output)["status"] == "COMPLETED"


def test_a_failed_request_fails_the_task_with_profile_request_failed_and_the_message_as_cause() -> None:
    failed = outcome(Status.FAILED, api_code="3005", api_description="Invalid Profile ID")
    assert final_call(failed) == Fail(ERROR_FAILED, build_message(failed).body)


def test_an_expired_request_fails_the_task_with_profile_request_expired() -> None:
    call = final_call(outcome(Status.EXPIRED, reason="no final answer within MAX_AGE_SECONDS=172800"))
    assert isinstance(call, Fail) and call.error == ERROR_EXPIRED == "ProfileRequestExpired"


def test_an_oversized_cause_drops_first_errors_before_anything_else() -> None:
    # Given ten first errors whose descriptions escape to 12 characters a letter (astral, JSON \\ud83d\\ude00)
    rows = tuple(ErrorRow(f"c{i}", "\U0001f600" * 300, str(i)) for i in range(10))
    failed = outcome(Status.FAILED, first_errors=rows, errors_by_code={"c1": 3, "c2": 4})
    assert len(build_message(failed).body) > CAUSE_MAX_CHARS
    # When the call is decided
    call = final_call(failed)
    # Then the cause fits, is JSON, lost its first_errors and kept everything else
    assert isinstance(call, Fail) and len(call.cause) <= CAUSE_MAX_CHARS
    cause = json.loads(call.cause)
    assert cause["first_errors"] == []
    assert cause == {**message_body(failed), "first_errors": []}


def test_errors_by_code_goes_second_when_first_errors_was_not_enough() -> None:
    codes = {"\U0001f600" * 60 + str(i): i + 1 for i in range(50)}
    rows = tuple(ErrorRow("c", "\U0001f600" * 300, str(i)) for i in range(10))
    body = message_body(outcome(Status.FAILED, first_errors=rows, errors_by_code=codes))
    cause = json.loads(clip_cause(body))
    assert cause["first_errors"] == [] and cause["errors_by_code"] == {}
    assert cause["request_id"] == "r-1" and cause["correlation"] == {"order": "42"}


def test_when_nothing_else_is_left_to_drop_strings_are_cut_and_the_cause_is_still_json() -> None:
    source = "https://files.example/" + "\U0001f600" * 2000
    files = (
        StoredFile.not_archived("file", source, "\U0001f600" * 990),
        StoredFile.not_archived("error-file", source, "x"),
    )
    body = message_body(outcome(Status.FAILED, files=files, reason="\U0001f600" * 990))
    cause = clip_cause(body)
    assert len(cause) <= CAUSE_MAX_CHARS
    assert json.loads(cause)["event_id"] == "r-1:FAILED"


@settings(max_examples=60, deadline=None)
@given(
    description=st.text(max_size=300),
    rows=st.integers(0, 10),
    codes=st.dictionaries(st.text(min_size=1, max_size=64), st.integers(1, 10**6), max_size=50),
    reason=st.text(max_size=1000),
    limit=st.integers(1024, CAUSE_MAX_CHARS),
)
def test_the_cause_is_always_json_within_the_limit_and_untouched_when_it_fits(
    description: str, rows: int, codes: dict[str, int], reason: str, limit: int
) -> None:
    failed = outcome(
        Status.FAILED,
        first_errors=tuple(ErrorRow(str(i), description, str(i)) for i in range(rows)),
        errors_by_code=codes,
        reason=reason,
    )
    body = message_body(failed)
    cause = clip_cause(body, limit)
    assert len(cause) <= limit
    assert isinstance(json.loads(cause), dict)
    if len(json.dumps(body, separators=(",", ":"), sort_keys=True)) <= limit:
        assert json.loads(cause) == body


def test_a_dead_token_is_refused_for_good() -> None:
    for code in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
        assert is_refused(code)


def test_throttling_server_errors_access_denied_and_unknown_codes_are_tried_again() -> None:
    for code in ("ThrottlingException", "ServiceUnavailable", "InternalFailure", "AccessDeniedException", "Unknown"):
        assert not is_refused(code)


class Port:
    """Step Functions that takes every call; records them."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def succeed(self, token: str, output: str) -> None:
        self.calls.append("success")

    def fail(self, token: str, error: str, cause: str) -> None:
        self.calls.append("failure")

    def heartbeat(self, token: str) -> None:
        self.calls.append("heartbeat")


def test_without_a_client_or_without_time_left_no_callback_is_made_and_the_item_would_say_why() -> None:
    counted: list[str] = []
    assert Callbacks(None, counted.append).deliver(outcome(), "tok") == Unavailable("no Step Functions client")
    port = Port()
    late = Callbacks(port, counted.append, may_call_back=lambda: False)
    assert late.deliver(outcome(), "tok") == Unavailable("no time left in this sweep")
    assert port.calls == [] and counted == []


def test_a_request_without_a_token_sends_no_heartbeat() -> None:
    port, counted = Port(), list[str]()
    Callbacks(port, counted.append).heartbeat("r-1", None)
    assert port.calls == [] and counted == []


def test_a_refused_outcome_is_offered_again_a_second_later_at_the_soonest() -> None:
    done = outcome()
    assert Redelivery(lambda: 0.0, base_seconds=0, max_seconds=0).delay(done, done.finished_at) == 1
    assert Redelivery(lambda: 0.0, base_seconds=1).delay(done, done.finished_at) == 1


def test_delivery_is_given_up_exactly_delivery_retry_seconds_after_the_decision() -> None:
    done, redelivery = outcome(), Redelivery(lambda: 0.0)
    assert not redelivery.gave_up(done, done.finished_at + DELIVERY_RETRY_SECONDS - 1)
    assert redelivery.gave_up(done, done.finished_at + DELIVERY_RETRY_SECONDS)


def test_a_token_read_from_an_item_is_a_non_empty_string_or_none() -> None:
    assert valid_token("tok") == "tok"
    for value in ("", 42, None, ["tok"]):
        assert valid_token(value) is None  # a hand-written item: no callback is attempted with it
