"""The registration detail contract and the outcome's correlation and event_id (pure, no AWS)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from profile_poller.core.items import PendingRequest, outcome_from_map, outcome_map
from profile_poller.core.message import build_message
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.registration import Rejected, Submission, parse_submission, pending_item
from tests.unit.test_events_and_messages import SCHEMA


def body(**detail: object) -> str:
    return json.dumps({"request_id": "r-1", "kind": "get", **detail})


def test_a_bare_detail_and_an_eventbridge_envelope_read_the_same() -> None:
    detail = {"request_id": "r-1", "kind": "update", "submitted_at": 1_800_000_000, "correlation": {"a": "b"}}
    envelope = {"version": "0", "detail-type": "Profile Request Submitted", "source": "x", "detail": detail}
    expected = Submission("r-1", Kind.UPDATE, 1_800_000_000, {"a": "b"})
    assert parse_submission(json.dumps(detail)) == expected == parse_submission(json.dumps(envelope))


def test_correlation_limits_are_ten_keys_and_1024_bytes_inclusive() -> None:
    ten = {f"k{i}": "v" for i in range(10)}
    assert parse_submission(body(correlation=ten)).correlation == ten
    at_limit = {"k": "é" * 511}  # 1 + 1022 bytes in UTF-8
    assert parse_submission(body(correlation=at_limit)).correlation == at_limit
    with pytest.raises(Rejected, match="1025 bytes"):
        parse_submission(body(correlation={"kkk": "é" * 511}))
    with pytest.raises(Rejected, match="11 keys"):
        parse_submission(body(correlation={**ten, "k10": "v"}))


@pytest.mark.parametrize("value", [True, 1.5, -1, "1800000000", 10**10])
def test_submitted_at_must_be_whole_epoch_seconds(value: object) -> None:
    with pytest.raises(Rejected, match="submitted_at"):
        parse_submission(body(submitted_at=value))


def test_the_item_is_the_producer_item_plus_correlation_only_when_given() -> None:
    plain = pending_item("r-1", kind=Kind.GET, submitted_at=5, shards=1)
    assert plain == {
        "request_id": "r-1",
        "status": "PENDING",
        "due_shard": "0",
        "next_check_at": 0,
        "submitted_at": 5,
        "kind": "get",
    }
    assert pending_item("r-1", kind=Kind.GET, submitted_at=5, correlation={"a": "b"}) == {
        **plain,
        "correlation": {"a": "b"},
    }


def outcome(**changes: object) -> Outcome:
    base: dict[str, object] = {
        "request_id": "r-1",
        "status": Status.FAILED,
        "kind": Kind.GET,
        "submitted_at": 1_800_000_000,
        "finished_at": 1_800_000_600,
        "attempts": 1,
        "api_code": "3005",
        "api_description": "Invalid Profile ID",
    }
    base.update(changes)
    return Outcome(**base)  # type: ignore[arg-type]


def test_event_id_gets_a_retry_suffix_after_an_operator_retry_and_survives_the_item_round_trip() -> None:
    assert outcome().event_id == "r-1:FAILED"
    retried = outcome(retry=2, correlation={"job": "42"})
    assert retried.event_id == "r-1:FAILED:retry-2"
    again = outcome_from_map("r-1", outcome_map(retried))  # a settling outcome or `republish` rebuilds it
    assert again.event_id == "r-1:FAILED:retry-2" and again.correlation == {"job": "42"}


def test_the_message_echoes_the_correlation_and_validates_as_schema_2() -> None:
    message = json.loads(build_message(outcome(retry=1, correlation={"job": "42"})).body)
    jsonschema.validate(message, SCHEMA)
    assert message["schema_version"] == "2" and message["correlation"] == {"job": "42"}
    assert message["event_id"] == "r-1:FAILED:retry-1"
    assert json.loads(build_message(outcome()).body)["correlation"] == {}


def test_a_pending_item_carries_its_correlation_retries_and_age_start() -> None:
    item = {
        "request_id": "r-1",
        "submitted_at": 100,
        "correlation": {"a": "b", "n": 1},
        "retries": 2,
        "retried_at": 900,
    }
    request = PendingRequest.from_item(item, now=1000)
    assert request.correlation == {"a": "b"} and request.retries == 2 and request.age_from == 900
    assert PendingRequest.from_item({"request_id": "r-2", "submitted_at": 100}, now=1000).age_from == 100
