"""A `submitted_at` far in the future (a typo) never makes a request immortal (issue 17, item 6): the helper, the
CLI (which registers through the helper) and the registration function refuse more than five minutes ahead; a
hand-written item with one is aged from its first claim, so it still expires."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from profile_poller.core.bounds import FUTURE_SLACK_SECONDS, InvalidSubmittedAt, validate_submitted_at
from profile_poller.core.registration import Rejected, Result, parse_submission, register
from profile_poller.entry import producer
from tests.unit.sweep_world import World, world

__all__ = ["world"]

NOW = 1_800_000_000
TYPO = 2_795_756_060  # year 2058


class Kept:
    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []
        self.items: list[Any] = []

    def keep(self, body: str, reason: str) -> None:
        self.records.append((body, reason))

    def put_new(self, item: Any) -> bool:
        self.items.append(item)
        return True


def test_five_minutes_ahead_is_taken_and_a_second_more_is_refused_saying_why() -> None:
    assert validate_submitted_at(NOW + FUTURE_SLACK_SECONDS, NOW) == NOW + FUTURE_SLACK_SECONDS
    with pytest.raises(InvalidSubmittedAt, match=" is 301 s in the future"):
        validate_submitted_at(NOW + FUTURE_SLACK_SECONDS + 1, NOW)


def test_the_registration_function_sends_a_future_submission_to_the_rejected_queue_with_the_reason() -> None:
    kept = Kept()
    body = json.dumps({"request_id": "r1", "kind": "update", "submitted_at": TYPO})
    result, reason = register(body, kept, kept, now=NOW)
    assert result is Result.REJECTED and kept.items == []
    assert kept.records == [(body, reason)] and "in the future" in reason
    with pytest.raises(Rejected):
        parse_submission(body, NOW)


def test_the_helper_and_the_cli_refuse_a_future_submitted_at() -> None:
    with pytest.raises(InvalidSubmittedAt, match="in the future"):
        producer.pending_item("r1", submitted_at=int(time.time()) + 3600)
    assert producer.pending_item("r1", submitted_at=int(time.time()) + 60)["submitted_at"] > 0


def test_a_hand_written_item_from_the_future_expires_counting_from_its_first_claim(world: World) -> None:
    # Given an item written by hand with a submitted_at 30 years ahead, answered "still processing" forever
    world.register("typo", age=-(TYPO - NOW))
    first_claim = world.clock()
    # When sweeps run every minute past MAX_AGE_SECONDS after its first claim
    max_age = 6 * 3600
    while world.clock() < first_claim + max_age + 3600:
        world.sweep(max_age_seconds=max_age, backoff_max_seconds=600)
        world.clock.advance(60)
    # Then it ended EXPIRED, with its stated submitted_at kept in the message
    assert world.status("typo") == "EXPIRED"
    [outcome] = world.published("typo")
    assert outcome.submitted_at == TYPO and outcome.finished_at <= first_claim + max_age + 60
