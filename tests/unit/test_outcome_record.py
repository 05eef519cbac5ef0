"""A decided outcome as it is stored on the item and as subscribers receive it: exact values, both ways."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from profile_poller.core.items import outcome_from_map, outcome_map
from profile_poller.core.message import build_message, message_body, public_source, subject
from profile_poller.core.model import ErrorRow, Kind, Outcome, Status, StoredFile

T0 = 1_800_000_000  # 2027-01-15T08:00:00Z
FULL = Outcome(
    request_id="r1",
    status=Status.COMPLETED,
    kind=Kind.UPDATE,
    submitted_at=T0,
    finished_at=T0 + 600,
    attempts=3,
    update_count=40,
    error_count=2,
    errors_by_code={"3005": 1, "7031": 1},
    first_errors=(ErrorRow("3005", "Invalid Profile ID", "1"), ErrorRow("7031", 'say "hi"', "2")),
    files=(
        StoredFile("error-file", "/f/e.csv", "s3://b/p/2027/01/15/r1/error-file.csv", 99, "a" * 64),
        StoredFile("file", "https://h/x.json", "s3://b/p/2027/01/15/r1/file.json", 7, "b" * 64),
    ),
    api_code="3005",
    api_description="Invalid Profile ID",
    reason="update-count 'x' is not a non-negative whole number",
    correlation={"batch": "b-7"},
    retry=2,
)


def test_the_stored_outcome_map_holds_every_value() -> None:
    assert outcome_map(FULL) == {
        "status": "COMPLETED",
        "kind": "update",
        "submitted_at": T0,
        "finished_at": T0 + 600,
        "attempts": 3,
        "update_count": 40,
        "error_count": 2,
        "errors_by_code": {"3005": 1, "7031": 1},
        "first_errors": [
            {"code": "3005", "description": "Invalid Profile ID", "index": "1"},
            {"code": "7031", "description": 'say "hi"', "index": "2"},
        ],
        "files": {
            "error-file": {
                "s3_uri": "s3://b/p/2027/01/15/r1/error-file.csv",
                "bytes": 99,
                "sha256": "a" * 64,
                "source": "/f/e.csv",
                "archived": True,
                "reason": None,
            },
            "file": {
                "s3_uri": "s3://b/p/2027/01/15/r1/file.json",
                "bytes": 7,
                "sha256": "b" * 64,
                "source": "https://h/x.json",
                "archived": True,
                "reason": None,
            },
        },
        "s3_uris": ["s3://b/p/2027/01/15/r1/error-file.csv", "s3://b/p/2027/01/15/r1/file.json"],
        "api_code": "3005",
        "api_description": "Invalid Profile ID",
        "reason": "update-count 'x' is not a non-negative whole number",
        "correlation": {"batch": "b-7"},
        "retry": 2,
    }


def test_a_decided_outcome_comes_back_from_the_item_unchanged() -> None:
    # a later sweep republishes exactly what was decided (the store hands the map back as it was written)
    again = outcome_from_map("r1", json.loads(json.dumps(outcome_map(FULL))))
    assert again == FULL
    assert build_message(again) == build_message(FULL)
    missing = replace(FULL, files=(StoredFile.not_archived("file", "sftp://h/x.csv", "over MAX_FILE_BYTES"),))
    assert outcome_from_map("r1", json.loads(json.dumps(outcome_map(missing)))) == missing


def test_a_sparse_or_hand_edited_outcome_map_is_read_with_defaults() -> None:
    again = outcome_from_map("r9", {"status": "FAILED"})
    assert again == Outcome("r9", Status.FAILED, Kind.UNKNOWN, 0, 0, 1)
    assert outcome_from_map("r9", {"status": "FAILED", "retry": -2, "correlation": {"a": "b", "n": 1}}) == Outcome(
        "r9", Status.FAILED, Kind.UNKNOWN, 0, 0, 1, correlation={"a": "b"}
    )
    odd = outcome_from_map(
        "r9",
        {
            "status": "EXPIRED",
            "kind": "GET",
            "submitted_at": "12",
            "finished_at": Decimal("13.7"),
            "attempts": 0,
            "errors_by_code": {3005: "2", "x": "many"},
            "first_errors": [{"code": 1}, {}],
            "files": {"file": {"s3_uri": "s3://b/k", "sha256": "c" * 64}},
        },
    )
    assert (odd.kind, odd.submitted_at, odd.finished_at, odd.attempts) == (Kind.GET, 12, 13, 1)
    assert odd.errors_by_code == {"3005": 2, "x": 0}
    assert odd.first_errors == (ErrorRow("1", "", ""), ErrorRow("(empty)", "", ""))  # codes are bounded too
    assert odd.files == (StoredFile("file", "", "s3://b/k", 0, "c" * 64),)
    assert outcome_from_map("r9", {"status": "FAILED", "attempts": 5}).attempts == 5


def test_the_message_body_carries_every_value() -> None:
    assert message_body(FULL) == {
        "schema_version": "2",
        "event_id": "r1:COMPLETED:retry-2",
        "request_id": "r1",
        "status": "COMPLETED",
        "kind": "update",
        "update_count": 40,
        "error_count": 2,
        "errors_by_code": {"3005": 1, "7031": 1},
        "first_errors": [
            {"code": "3005", "description": "Invalid Profile ID", "index": "1"},
            {"code": "7031", "description": 'say "hi"', "index": "2"},
        ],
        "files": [
            {
                "role": "error-file",
                "source": "/f/e.csv",
                "archived": True,
                "s3_uri": "s3://b/p/2027/01/15/r1/error-file.csv",
                "bytes": 99,
                "sha256": "a" * 64,
                "reason": None,
            },
            {
                "role": "file",
                "source": "https://h/x.json",
                "archived": True,
                "s3_uri": "s3://b/p/2027/01/15/r1/file.json",
                "bytes": 7,
                "sha256": "b" * 64,
                "reason": None,
            },
        ],
        "api_code": "3005",
        "api_description": "Invalid Profile ID",
        "reason": "update-count 'x' is not a non-negative whole number",
        "attempts": 3,
        "submitted_at": "2027-01-15T08:00:00Z",
        "finished_at": "2027-01-15T08:10:00Z",
        "correlation": {"batch": "b-7"},
    }


def test_the_message_is_compact_sorted_json_with_its_attributes() -> None:
    message = build_message(FULL)
    assert message.body == json.dumps(message_body(FULL), separators=(",", ":"), sort_keys=True)
    assert message.event_id == "r1:COMPLETED:retry-2"
    assert message.attributes == {"status": "COMPLETED", "kind": "update", "has_errors": "true", "archived": "true"}
    assert message.subject == "Profile request completed with 2 error(s): r1"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"error_count": 0}, "Profile request completed, 40 updated: r1"),
        ({"error_count": None, "update_count": 0}, "Profile request completed, 0 updated: r1"),
        ({"status": Status.FAILED, "error_count": None, "update_count": None}, "Profile request failed: r1"),
        ({"status": Status.EXPIRED, "error_count": 0, "update_count": None}, "Profile request expired: r1"),
    ],
)
def test_the_subject_says_what_happened(changes: dict[str, Any], expected: str) -> None:
    assert subject(replace(FULL, **changes)) == expected


def test_a_subject_of_exactly_100_characters_is_kept_and_a_longer_one_cut_with_an_ellipsis() -> None:
    prefix = "Profile request failed: "
    exact = replace(
        FULL, status=Status.FAILED, error_count=None, update_count=None, request_id="x" * (100 - len(prefix))
    )
    assert subject(exact) == prefix + "x" * (100 - len(prefix))
    longer = replace(exact, request_id=exact.request_id + "y")
    assert subject(longer) == (prefix + "x" * 100)[:97] + "..."
    assert subject(replace(exact, request_id="a\tbé")) == prefix + "a?b?"  # SNS takes printable ASCII only


def test_stored_files_are_read_back_leniently() -> None:
    files = {
        "error-file": {"source": "/e.csv", "archived": False, "s3_uri": "s3://b/k"},  # said not archived: not
        "file": {"source": "/f.json", "s3_uri": "s3://b/f", "bytes": 3},  # no sha256 recorded
    }
    again = outcome_from_map("r1", {"status": "COMPLETED", "files": files})
    assert again.files == (
        StoredFile.not_archived("error-file", "/e.csv", "not archived"),
        StoredFile("file", "/f.json", "s3://b/f", 3, ""),
    )
    kept = outcome_from_map("r1", {"status": "COMPLETED", "files": {"file": {"s3_uri": None, "reason": "too big"}}})
    assert kept.files == (StoredFile.not_archived("file", "", "too big"),)


@pytest.mark.parametrize(
    ("source", "public"),
    [
        ("https://user:pw@files.example:8443/out/a.csv?sig=secret#frag", "https://files.example:8443/out/a.csv"),
        ("/campaignapi/files/e.csv?token=1", "/campaignapi/files/e.csv"),
        ("https://[::1]:8443/x.csv", "https://[::1]:8443/x.csv"),
        ("https://files.example:99999/x.csv", "https://files.example/x.csv"),
        ("sftp://files.example/in/x.csv", "sftp://files.example/in/x.csv"),
    ],
)
def test_subscribers_see_the_source_without_credentials_query_or_fragment(source: str, public: str) -> None:
    assert public_source(source) == public


def test_a_file_not_archived_is_said_in_the_subject_after_the_counts() -> None:
    missing = replace(FULL, files=(StoredFile.not_archived("error-file", "/e.csv", "over MAX_FILE_BYTES"),))
    assert subject(missing) == "Profile request completed with 2 error(s) (file not archived): r1"
