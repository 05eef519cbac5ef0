"""Invocation events, the SNS message contract and its JSON Schema, and the secret's format."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from profile_poller.adapters.secrets import parse_secret
from profile_poller.core.message import build_message
from profile_poller.core.model import ErrorRow, Kind, Outcome, Status, StoredFile
from profile_poller.core.ports import Credentials, CredentialsError
from profile_poller.entry.events import InvalidEvent, parse_event

ROOT = Path(__file__).resolve().parents[2]
# the schema as the package ships it (package data of profile_poller.core)
SCHEMA = json.loads((resources.files("profile_poller.core") / "outcome-message.schema.json").read_text())


def test_both_sample_events_start_a_sweep() -> None:
    schedule = parse_event(json.loads((ROOT / "events/schedule.json").read_text()))
    classic = parse_event(json.loads((ROOT / "events/scheduled-event.json").read_text()))
    assert schedule.source == "profile-poller.schedule" and schedule.execution_id is None  # placeholders unsubstituted
    assert classic.source == "aws.events" and classic.scheduled_time == "2026-11-27T05:00:00Z"


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "sweep",
        3,
        {},
        {"source": "aws.s3"},
        {"action": "sweep"},
        {"source": "profile-poller.schedule", "action": "sweep", "pad": "x" * 70_000},
    ],
)
def test_other_events_are_refused_clearly(event: object) -> None:
    with pytest.raises(InvalidEvent, match="event"):
        parse_event(event)


def test_a_substituted_schedule_input_and_a_classic_event_carry_their_time_and_id() -> None:
    when, run = "2026-11-27T05:00:00Z", "arn:aws:scheduler:eu-west-1:1:schedule/default/poller/" + "e" * 250
    schedule = parse_event(
        {"source": "profile-poller.schedule", "action": "sweep", "scheduled_time": when, "execution_id": run}
    )
    assert (schedule.scheduled_time, schedule.execution_id) == (when, run[:200])  # a long value clipped at 200
    classic = parse_event({"detail-type": "Scheduled Event", "source": "aws.events", "time": when, "id": "ev-1"})
    assert (classic.source, classic.scheduled_time, classic.execution_id) == ("aws.events", when, "ev-1")
    odd = parse_event({"source": "profile-poller.schedule", "action": "sweep", "scheduled_time": 5})
    assert odd.scheduled_time is None  # not a string: absent


def test_an_event_that_is_not_an_object_says_what_it_is() -> None:
    with pytest.raises(InvalidEvent, match="expected a JSON object event, got list"):
        parse_event([{"source": "profile-poller.schedule", "action": "sweep"}])


def test_half_a_classic_event_is_refused_and_the_refusal_names_the_event_keys() -> None:
    with pytest.raises(InvalidEvent) as refused:
        parse_event({"source": "aws.events", "time": "2026-11-27T05:00:00Z"})
    assert "(keys: source, time)" in str(refused.value)


def test_an_event_of_exactly_64_kib_still_starts_a_sweep() -> None:
    event = {"source": "profile-poller.schedule", "action": "sweep", "pad": ""}
    event["pad"] = "x" * (64 * 1024 - len(json.dumps(event)))
    assert len(json.dumps(event)) == 64 * 1024 and parse_event(event).source == "profile-poller.schedule"


def test_an_event_that_is_not_json_says_so() -> None:
    event: dict[str, object] = {"source": "profile-poller.schedule", "action": "sweep"}
    event["itself"] = event  # a circular event cannot be measured
    with pytest.raises(InvalidEvent, match="event is not JSON-serialisable"):
        parse_event(event)


NO_RESULT: dict[str, object] = {
    "files": (),
    "error_count": None,
    "errors_by_code": {},
    "first_errors": (),
    "update_count": None,
}


NOT_ARCHIVED = StoredFile.not_archived("error-file", "sftp://sftp.example/out/e.csv", "permission denied")


def outcome(**changes: object) -> Outcome:
    base = {
        "request_id": "r1",
        "status": Status.COMPLETED,
        "kind": Kind.UPDATE,
        "submitted_at": 1_800_000_000,
        "finished_at": 1_800_000_600,
        "attempts": 3,
        "update_count": 40,
        "error_count": 2,
        "errors_by_code": {"3005": 2},
        "first_errors": (ErrorRow("3005", "Invalid Profile ID", "1"), ErrorRow("3005", "Invalid Profile ID", "9")),
        "files": (StoredFile("error-file", "/f/e.csv", "s3://b/p/2027/01/15/r1/error-file.csv", 99, "a" * 64),),
    }
    base.update(changes)
    return Outcome(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "o",
    [
        outcome(),
        outcome(error_count=0, errors_by_code={}, first_errors=()),
        outcome(
            status=Status.FAILED,
            api_code="3005",
            api_description="Invalid Profile ID",
            reason="the API answered code 3005",
            **NO_RESULT,
        ),
        outcome(status=Status.EXPIRED, kind=Kind.UNKNOWN, reason="no final answer", **NO_RESULT),
        outcome(error_count=None, errors_by_code={}, first_errors=(), files=(NOT_ARCHIVED,)),
    ],
)
def test_messages_validate_against_the_schema(o: Outcome) -> None:
    message = build_message(o)
    body = json.loads(message.body)
    jsonschema.validate(body, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert body["event_id"] == f"r1:{o.status.value}" == message.event_id
    assert message.attributes["status"] == o.status.value and message.attributes["kind"] == o.kind.value
    assert len(message.subject) <= 100


def test_has_errors_attribute() -> None:
    assert build_message(outcome()).attributes["has_errors"] == "true"
    assert build_message(outcome(error_count=0, errors_by_code={}, first_errors=())).attributes["has_errors"] == "false"
    assert build_message(outcome(status=Status.FAILED, files=())).attributes["has_errors"] == "true"
    unknown = outcome(error_count=None, errors_by_code={}, first_errors=())  # an error file we could not parse
    assert build_message(unknown).attributes["has_errors"] == "true"


def test_archived_attribute_and_file_entries_tell_a_file_that_was_not_archived() -> None:
    # Given a completed update whose error file could not be archived (its counts unknown)
    lost = outcome(error_count=None, errors_by_code={}, first_errors=(), files=(NOT_ARCHIVED,))
    message = build_message(lost)
    body = json.loads(message.body)
    # Then subscribers can filter on it, and the entry keeps the source and says why
    assert message.attributes["archived"] == "false" and message.attributes["has_errors"] == "true"
    assert body["schema_version"] == "2" and body["status"] == "COMPLETED" and body["error_count"] is None
    assert body["files"] == [
        {
            "role": "error-file",
            "source": "sftp://sftp.example/out/e.csv",
            "archived": False,
            "s3_uri": None,
            "bytes": None,
            "sha256": None,
            "reason": "permission denied",
        }
    ]
    assert "not archived" in message.subject
    assert build_message(outcome()).attributes["archived"] == "true"
    assert build_message(outcome(status=Status.FAILED, **NO_RESULT)).attributes["archived"] == "true"


def test_the_source_in_a_message_drops_credentials_query_and_fragment() -> None:
    signed = StoredFile("file", "https://u:pw@files.example:8443/a/b.csv?X-Amz-Signature=zz#f", "s3://b/k", 1, "a" * 64)
    body = json.loads(build_message(outcome(files=(signed,))).body)
    assert body["files"][0]["source"] == "https://files.example:8443/a/b.csv"
    assert "zz" not in build_message(outcome(files=(signed,))).body


def test_schema_rejects_an_archived_entry_without_its_checksum_and_a_lost_one_without_a_reason() -> None:
    body = json.loads(build_message(outcome()).body)
    body["files"][0]["sha256"] = None
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, SCHEMA)
    lost = json.loads(build_message(outcome(files=(NOT_ARCHIVED,))).body)
    lost["files"][0]["reason"] = None
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(lost, SCHEMA)


def test_subject_stays_short_and_printable() -> None:
    subject = build_message(outcome(request_id="x" * 128 + "\n")).subject
    assert len(subject) == 100 and "\n" not in subject


def test_schema_rejects_a_message_missing_event_id() -> None:
    body = json.loads(build_message(outcome()).body)
    del body["event_id"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, SCHEMA)


def test_secret_json_bare_and_override() -> None:
    assert parse_secret('{"api_key": "k1", "base_url": "https://t.example"}', "", False) == Credentials(
        "k1", "https://t.example"
    )
    assert parse_secret("  k2\n", "https://o.example", False) == Credentials("k2", "https://o.example")
    assert parse_secret('{"api_key": "k3", "base_url": "https://t.example"}', "https://o.example", False).base_url == (
        "https://o.example"
    )


@pytest.mark.parametrize("value", ["", "{not json", '{"api_key": ""}', '{"key": "x"}', "two words", '["k"]'])
def test_bad_secrets_fail_without_echoing_the_value(value: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_secret(value, "https://t.example", False)
    assert "two words" not in str(caught.value)


def test_secret_without_any_base_url_is_refused() -> None:
    with pytest.raises(CredentialsError, match="API_BASE_URL"):
        parse_secret("k", "", False)


def test_credentials_repr_hides_the_key() -> None:
    assert "s3cr3t" not in repr(Credentials("s3cr3t", "https://t.example"))
    assert "s3cr3t" not in str(Credentials("s3cr3t", "https://t.example"))
