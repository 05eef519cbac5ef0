"""A record the registration door rejects is kept for an operator without any task token in it (issue 19, review
item 6): every key spelled like a task token, at any depth, is masked; a body that is not JSON keeps only its
length and a hash, beside the reason."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from profile_poller.core.registration import Result, redacted, register

TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAsecret-token"
NOW = 1_700_000_000


class Store:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, object]] = {}

    def put_new(self, item: Mapping[str, Any]) -> bool:
        if item["request_id"] in self.items:
            return False
        self.items[str(item["request_id"])] = dict(item)
        return True


class Kept:
    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []

    def keep(self, body: str, reason: str) -> None:
        self.records.append((body, reason))


def _rejected(body: str) -> tuple[str, str]:
    kept = Kept()
    result, _ = register(body, Store(), kept, NOW)
    assert result is Result.REJECTED
    assert len(kept.records) == 1
    return kept.records[0]


def test_a_token_under_the_aws_spelling_tasktoken_is_masked() -> None:
    body, reason = _rejected(json.dumps({"request_id": "r-1", "kind": "update", "TaskToken": TOKEN}))
    assert TOKEN not in body
    assert json.loads(body)["TaskToken"] == "***"
    assert "unknown field" in reason


def test_a_token_at_the_top_of_an_envelope_is_masked() -> None:
    envelope = {
        "detail-type": "Profile Request Submitted",
        "detail": {"request_id": "r-1", "kind": "bad", "task_token": TOKEN},
        "task-token": TOKEN,
    }
    body, _ = _rejected(json.dumps(envelope))
    assert TOKEN not in body
    kept = json.loads(body)
    assert kept["task-token"] == "***" and kept["detail"]["task_token"] == "***"
    assert kept["detail"]["kind"] == "bad"  # the rest stays for the operator


def test_a_token_deep_in_lists_and_objects_is_masked() -> None:
    body, _ = _rejected(json.dumps({"request_id": "r-1", "kind": "x", "extra": [{"a": {"Task_Token": TOKEN}}]}))
    assert TOKEN not in body


def test_a_body_that_is_not_json_keeps_only_its_length_and_a_hash() -> None:
    raw = '{"request_id": "r-1", "kind": "update", "task_token": "' + TOKEN + '",}'  # a trailing comma
    body, reason = _rejected(raw)
    assert TOKEN not in body
    assert json.loads(body) == {
        "unreadable_body": {"length": len(raw), "sha256": hashlib.sha256(raw.encode()).hexdigest()}
    }
    assert reason == "the body is not JSON"


def test_a_record_without_a_token_is_kept_as_sent() -> None:
    raw = '{"request_id": "r-1",   "kind": "nope"}'
    assert redacted(raw) == raw


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["a", "detail", "taskToken", "TASK_TOKEN", "task token", "x"]), inner)
        ),
        max_leaves=12,
    )
)
def test_no_value_under_a_token_key_survives_anywhere(tree: object) -> None:
    body = json.dumps({"detail": tree, "TaskToken": TOKEN, "payload": [tree, {"task_token": TOKEN}]})
    assert TOKEN not in redacted(body)
