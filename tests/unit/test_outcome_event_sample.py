"""The sample events of issue 19: events/outcome-eventbridge.json (what a rule's target receives from the outcome
bus) and events/register-sqs-task-token.json (the registration a waiting workflow sends to the queue)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from profile_poller.adapters.outcome_events import DETAIL_TYPE, SOURCE
from profile_poller.core.registration import parse_submission
from tests.unit.test_events_and_messages import SCHEMA

ROOT = Path(__file__).resolve().parents[2]


def test_the_outcome_event_sample_carries_a_valid_outcome_message_as_its_detail() -> None:
    event = json.loads((ROOT / "events/outcome-eventbridge.json").read_text())
    assert event["source"] == SOURCE == "profile-poller"
    assert event["detail-type"] == DETAIL_TYPE == "Profile Request Finished"
    jsonschema.validate(event["detail"], SCHEMA)
    assert (
        event["detail"]["status"] == "FAILED"
    )  # the one the docs' rule example {"detail": {"status": ["FAILED"]}} matches


def test_the_waiting_workflows_registration_sample_is_accepted_with_its_token() -> None:
    [record] = json.loads((ROOT / "events/register-sqs-task-token.json").read_text())["Records"]
    submission = parse_submission(record["body"])
    assert submission.task_token and submission.correlation
