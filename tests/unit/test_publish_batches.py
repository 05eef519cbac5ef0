"""How the SNS adapter packs outcome messages into PublishBatch calls: as full as SNS's limits allow (ten entries,
256 KiB counted as SNS counts it: body, subject, attribute names, types and values), never over them; a message
over 256 KiB on its own fails alone and the rest are sent."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from profile_poller.adapters.sns import SnsNotifier
from profile_poller.core.message import build_message
from profile_poller.core.model import Kind, Outcome, Status

LIMIT = 256 * 1024


class RecordingSns:
    """PublishBatch as the adapter calls it: every entry published; the answer has no `Failed` list (SNS may
    leave an empty one out)."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[dict[str, Any]]) -> dict[str, Any]:
        self.batches.append(PublishBatchRequestEntries)
        return {"Successful": [{"Id": e["Id"]} for e in PublishBatchRequestEntries]}


def sns_size(entry: dict[str, Any]) -> int:
    """An entry's size as SNS counts it, from what was sent."""
    attributes = entry["MessageAttributes"].items()
    return (
        len(entry["Message"].encode())
        + len(entry["Subject"].encode())
        + sum(len(name) + len(a["DataType"]) + len(a["StringValue"].encode()) for name, a in attributes)
    )


def message_size(outcome: Outcome) -> int:
    message = build_message(outcome)
    body = len(message.body.encode()) + len(message.subject.encode())
    return body + sum(len(name) + len("String") + len(value.encode()) for name, value in message.attributes.items())


def sized(request_id: str, size: int) -> Outcome:
    """An outcome whose message is exactly `size` bytes, padded in its reason past the core's bounds (which keep
    real outcomes well under the limit): only the adapter's own check stands between such a message and SNS."""
    outcome = Outcome(request_id, Status.FAILED, Kind.UPDATE, 1_800_000_000, 1_800_000_100, 1, reason="x")
    object.__setattr__(outcome, "reason", "x" * (1 + size - message_size(outcome)))
    assert message_size(outcome) == size
    return outcome


def publish(*outcomes: Outcome) -> tuple[set[str], list[list[str]]]:
    sns = RecordingSns()
    failed = SnsNotifier(sns, "arn:aws:sns:eu-west-1:123456789012:outcomes").publish(outcomes)  # type: ignore[arg-type]
    for batch in sns.batches:
        assert len(batch) <= 10 and sum(sns_size(e) for e in batch) <= LIMIT
    return failed, [[build_id(e) for e in batch] for batch in sns.batches]


def build_id(entry: dict[str, Any]) -> str:
    return str(entry["Message"]).split('"request_id":"', 1)[1].split('"', 1)[0]


def test_a_message_of_exactly_256_kib_is_sent_and_one_byte_more_fails_alone() -> None:
    at, over, small = sized("at", LIMIT), sized("over", LIMIT + 1), sized("small", 1000)
    failed, batches = publish(over, at, small)
    assert failed == {over.event_id}
    assert batches == [["at"], ["small"]]


def test_messages_filling_256_kib_exactly_share_a_batch_and_one_byte_more_starts_the_next() -> None:
    assert publish(sized("a", 100_000), sized("b", LIMIT - 100_000)) == (set(), [["a", "b"]])
    assert publish(sized("a", 100_000), sized("b", LIMIT - 100_000 + 1)) == (set(), [["a"], ["b"]])


def test_each_batch_counts_every_message_in_it_from_nothing() -> None:
    # three that fit only as 100 000 + 100 000, then a fresh batch that is exactly full
    first, second, third = sized("a", 100_000), sized("b", 100_000), sized("c", LIMIT - 200_000 + 1)
    fourth = sized("d", 200_000 - 1)
    failed, batches = publish(first, second, third, fourth)
    assert failed == set() and batches == [["a", "b"], ["c", "d"]]


def test_ten_small_messages_fill_a_batch_and_the_eleventh_starts_the_next() -> None:
    failed, batches = publish(*(sized(f"m{i}", 500) for i in range(11)))
    assert failed == set() and [len(b) for b in batches] == [10, 1]


def test_the_operator_is_told_which_outcome_was_too_large_and_that_it_was_the_sns_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given an outcome whose SNS message is one byte over 256 KiB
    over = sized("over", LIMIT + 1)
    # When it is published, then the error line names it and says it was the SNS message (not the EventBridge event)
    with caplog.at_level(logging.ERROR, logger="profile-poller"):
        assert publish(over) == ({over.event_id}, [])
    [line] = [r for r in caplog.records if getattr(r, "event_id", None) == over.event_id]
    assert line.levelno == logging.ERROR and line.getMessage().split()[0] == "message"
