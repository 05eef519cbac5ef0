"""The subscriber kit's sample events (events/outcome-sns.json, events/outcome-sqs.json): what a subscriber's
function receives from an SNS subscription and from an SQS queue subscribed to the topic. Each carries a body
valid against the published schema and the attributes the code would set for that body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from profile_poller.core.message import SCHEMA_VERSION
from tests.unit.test_events_and_messages import SCHEMA

ROOT = Path(__file__).resolve().parents[2]


def expected_attributes(body: dict[str, Any]) -> dict[str, str]:
    """What core/message.py sets, derived from the body alone (as a subscriber's filter policy sees it)."""
    error_file = any(f["role"] == "error-file" for f in body["files"])
    has_errors = body["status"] != "COMPLETED" or (
        error_file if body["error_count"] is None else body["error_count"] > 0
    )
    return {
        "status": body["status"],
        "kind": body["kind"],
        "has_errors": "true" if has_errors else "false",
        "archived": "true" if all(f["archived"] for f in body["files"]) else "false",
    }


def sns_sample() -> tuple[dict[str, Any], dict[str, str]]:
    [record] = json.loads((ROOT / "events/outcome-sns.json").read_text())["Records"]
    sns = record["Sns"]
    return json.loads(sns["Message"]), {k: v["Value"] for k, v in sns["MessageAttributes"].items()}


def sqs_sample() -> tuple[dict[str, Any], dict[str, str]]:
    [record] = json.loads((ROOT / "events/outcome-sqs.json").read_text())["Records"]
    envelope = json.loads(record["body"])  # raw message delivery off: the SNS envelope is the body
    return json.loads(envelope["Message"]), {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}


@pytest.mark.parametrize("sample", [sns_sample, sqs_sample])
def test_the_sample_events_carry_a_valid_body_and_its_attributes(sample: Any) -> None:
    body, attributes = sample()
    jsonschema.validate(body, SCHEMA)
    assert body["schema_version"] == SCHEMA_VERSION
    assert attributes == expected_attributes(body)
    assert body["correlation"]  # the kit shows the correlation a registration by event carries


def test_the_samples_show_a_first_outcome_and_a_retried_one() -> None:
    assert sns_sample()[0]["event_id"] == "9f8e7d6c-5b4a:COMPLETED"
    assert sqs_sample()[0]["event_id"] == "a1b2c3d4-get-0001:FAILED:retry-1"


def test_a_body_that_breaks_the_schema_is_refused() -> None:
    body, _ = sns_sample()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**body, "correlation": {"n": 1}}, SCHEMA)
