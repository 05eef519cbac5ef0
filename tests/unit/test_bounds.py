"""Bounds on every value: outcomes (every value from outside is bounded when the outcome is built: the
finish time in milliseconds, the API's code and description, each file's source and reason), times, settings,
Retry-After, the lease, cadence (issue 12, items 2, 3, 7, 8); and each bound at its edge: clipping at exactly the
limit, code folding at exactly MAX_CODES and by rank, epoch seconds at the milliseconds threshold, and the reasons
registration gives for a refused submitted_at."""

from __future__ import annotations

import inspect
import random
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from profile_poller.core.bounds import (
    EMPTY_CODE,
    MAX_CODES,
    MAX_SUBMITTED_AT,
    MS_THRESHOLD,
    OTHER_CODE,
    InvalidSubmittedAt,
    clip,
    epoch_seconds,
    fold_codes,
    validate_submitted_at,
)
from profile_poller.core.items import PendingRequest, outcome_from_map, outcome_map
from profile_poller.core.message import build_message, subject
from profile_poller.core.model import ErrorRow, Kind, Outcome, Status, StoredFile
from profile_poller.core.pacing import backoff_seconds
from profile_poller.core.ports import ItemRejected
from profile_poller.core.schedule import Due
from profile_poller.core.sweep import Sweep, SweepDeps
from profile_poller.entry import config
from profile_poller.entry.config import ConfigError, Settings, check_lease, load_settings
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response

REQUIRED = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "TOPIC_ARN": "arn:aws:sns:eu-west-1:1:t", "SECRET_ID": "s"}


# every numeric variable load_settings reads, taken from its source so a new one is covered too
NUMERIC = sorted(set(re.findall(r'_(?:int|float)\(env, "([A-Z_]+)"', inspect.getsource(config.load_settings))))


SETTINGS = Settings(table_name="t", bucket_name="b", topic_arn="arn:t", secret_id="s", rate_limit_per_second=1000)


class LowestDraw(random.Random):
    """The unluckiest jitter: every draw is the lowest the backoff allows."""

    def uniform(self, a: float, b: float) -> float:
        return min(a, b)

    def random(self) -> float:
        return 0.0


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "Infinity", "1e999"])
@pytest.mark.parametrize("name", NUMERIC)
def test_non_finite_values_are_refused_in_every_numeric_setting(name: str, value: str) -> None:
    assert len(NUMERIC) >= 14  # the regex still finds them
    with pytest.raises(ConfigError, match=name):
        load_settings({**REQUIRED, name: value})


def test_a_lease_shorter_than_the_function_timeout_is_refused_naming_both() -> None:
    # Given LEASE_SECONDS=600 in a function whose timeout is 900 s (the time left as the first invocation starts)
    with pytest.raises(ConfigError, match=r"LEASE_SECONDS=600 .* function timeout \(900 s"):
        check_lease(replace(SETTINGS, lease_seconds=600), remaining_ms=899_990)
    check_lease(replace(SETTINGS, lease_seconds=900), remaining_ms=899_990)  # equal is enough
    check_lease(replace(SETTINGS, lease_seconds=960), remaining_ms=900_000)


class World:
    def __init__(self, rng: random.Random) -> None:
        self.clock, self.store, self.api = FakeClock(), FakeStore(), FakeApi()
        self.rng = rng

    def sweep(self, settings: Settings = SETTINGS) -> dict[str, object]:
        deps = SweepDeps(
            self.store, self.api, FakeKeys("k"), FakeArchive(), FakeNotifier(), self.clock, self.clock.sleep, self.rng
        )
        return Sweep(settings, deps, "owner", lambda: 600_000).run().as_dict()


@pytest.mark.parametrize("header", ["86400000", "Fri, 01 Jan 2100 00:00:00 GMT"])
def test_retry_after_is_clamped_to_backoff_max_seconds(header: str) -> None:
    # Given a 429 asking us to come back in 1,000 days (or in 2100)
    world = World(random.Random(1))
    world.store.put_pending("r1", int(world.clock()))
    world.api.answers["r1"] = [json_response(429, '{"code": 429}', {"Retry-After": header})]
    # When a sweep runs
    assert world.sweep()["throttled"] == 1
    # Then the request is due again within BACKOFF_MAX_SECONDS, not parked for years
    # (the whole seconds of next_check_at: its fraction carries the attempt count, see core/schedule.py)
    assert int(world.store.items["r1"]["next_check_at"]) <= world.clock() + SETTINGS.backoff_max_seconds


@pytest.mark.parametrize("attempts", range(12))
def test_the_backoff_never_asks_again_before_the_base_delay(attempts: int) -> None:
    delay = backoff_seconds(attempts, 30, 1800, LowestDraw())
    assert 30 <= delay <= 1800
    assert delay >= min(1800, 30 * 2**attempts) / 2  # equal jitter: at least half the exponential step


def test_backoff_stays_within_its_window_and_spreads() -> None:
    rng = random.Random(1)
    samples = [backoff_seconds(3, 30, 1800, rng) for _ in range(2000)]
    assert 120 <= min(samples) < 130 and 230 < max(samples) <= 240
    assert min(backoff_seconds(50, 30, 1800, rng) for _ in range(2000)) >= 900
    assert max(backoff_seconds(50, 30, 1800, rng) for _ in range(2000)) <= 1800


@pytest.mark.parametrize(("hours", "at_most"), [(1, 9), (6, 29), (24, 101)])  # bench/calls_per_request.py
def test_status_calls_per_request_stay_bounded_even_with_the_unluckiest_jitter(hours: int, at_most: int) -> None:
    # Given a job that stays pending, sweeps every 5 minutes (the template's schedule) and the lowest draws
    world = World(LowestDraw())
    world.store.put_pending("r1", int(world.clock()))
    settings = replace(SETTINGS, max_age_seconds=10 * 86_400)
    # When the sweeps run for the job's length
    for _ in range(hours * 12):
        world.sweep(settings)
        world.clock.advance(300)
    # Then the API was asked at most as often as docs/configuration.md says
    assert len(world.api.asked) <= at_most


def test_codes_are_map_safe_and_at_most_fifty_with_the_rest_as_other() -> None:
    counts = {"": 3000, " ": 1000, "x" * 500: 5000, **{f"C{i:04d}": 1000 - i for i in range(200)}}
    folded = fold_codes(counts)
    assert len(folded) == MAX_CODES and sum(folded.values()) == sum(counts.values())
    assert "" not in folded and folded[EMPTY_CODE] == 4000 and all(len(code) <= 64 for code in folded)
    assert folded["C0000"] == 1000 and "C0199" not in folded and folded[OTHER_CODE] > 0
    assert fold_codes(folded) == folded  # stored and read back: the same


def test_an_outcome_is_bounded_however_it_is_built() -> None:
    rows = tuple(ErrorRow("", "d" * 200_000, "i" * 1000) for _ in range(30))
    outcome = Outcome(
        "r1", Status.COMPLETED, Kind.UPDATE, 1_800_000_000_000, 1_800_000_000, 1,
        errors_by_code={f"c{i}": 1 for i in range(5000)}, first_errors=rows, reason="r" * 10_000,
    )  # fmt: skip
    assert len(outcome.first_errors) == 10 and {r.code for r in outcome.first_errors} == {EMPTY_CODE}
    assert max(len(r.description) for r in outcome.first_errors) == 300 and len(outcome.reason or "") == 1000
    assert len(outcome.errors_by_code) == MAX_CODES and outcome.submitted_at == 1_800_000_000
    assert outcome_from_map("r1", outcome_map(outcome)) == outcome
    assert len(build_message(outcome).body.encode()) < 64 * 1024


@pytest.mark.parametrize(
    ("stored", "seconds"),
    [(1_800_000_000, 1_800_000_000), (1_800_000_000_123, 1_800_000_000), (1_800_000_000_123_456, 1_800_000_000),
     (-5, 0), (10**30, 10**30 // 10**21)],
)  # fmt: skip
def test_a_stored_time_in_milliseconds_is_read_as_seconds(stored: int, seconds: int) -> None:
    assert epoch_seconds(stored) == seconds
    request = PendingRequest.from_item({"request_id": "r1", "submitted_at": stored}, now=1)
    assert request.submitted_at == seconds


def test_subjects_are_printable_ascii() -> None:
    text = subject(Outcome("ünï\ncode-✓", Status.FAILED, Kind.UNKNOWN, 0, 0, 1))
    assert text.isascii() and text.isprintable() and text.endswith("?n??code-?")


class RefusingStore(FakeStore):
    """A table that refuses every write to one item (DynamoDB's ValidationException, as the adapter maps it)."""

    def claim(self, due: Due, owner: str, now: int, next_check_at: Decimal, attempts: int) -> Any:
        if due.request_id == "refused":
            raise ItemRejected("the table refused the write for refused: Item size has exceeded the maximum")
        return super().claim(due, owner, now, next_check_at, attempts)


def test_a_write_refused_for_one_item_never_stops_the_sweep() -> None:
    world = World(random.Random(1))
    world.store = RefusingStore()
    for rid in ("a", "refused", "b"):
        world.store.put_pending(rid, int(world.clock()))
    world.api.answers = {rid: [json_response(200, '{"update-count": 1}')] for rid in ("a", "b")}
    summary = world.sweep()
    assert summary["systemic"] == 0 and summary["stopped"] is None and summary["errors"] == 1
    assert summary["completed"] == 2


def test_a_text_of_exactly_the_limit_is_kept_whole() -> None:
    assert clip("abcde", 5) == "abcde"
    assert clip("abcdef", 5) == "ab..."


def test_exactly_keep_codes_are_kept_without_folding() -> None:
    assert fold_codes({"a": 1, "b": 2, "c": 3}, keep=3) == {"a": 1, "b": 2, "c": 3}


def test_folding_keeps_the_most_frequent_codes() -> None:
    # Given four codes, the most frequent not first in either order
    counts = {"a": 1, "b": 5, "c": 7, "d": 2}
    # When at most three may be kept (OTHER_CODE included)
    # Then the two most frequent stay and the rest is counted under OTHER_CODE
    assert fold_codes(counts, keep=3) == {"c": 7, "b": 5, OTHER_CODE: 3}


def test_codes_tied_in_count_are_kept_by_name_whatever_their_order() -> None:
    assert fold_codes({"z": 3, "m": 3, "a": 3, "b": 3}, keep=3) == {"a": 3, "b": 3, OTHER_CODE: 6}


def test_the_milliseconds_threshold_itself_is_read_as_milliseconds() -> None:
    assert epoch_seconds(MS_THRESHOLD) == MS_THRESHOLD // 1000
    assert epoch_seconds(MS_THRESHOLD - 1) == MS_THRESHOLD - 1


def test_zero_is_a_valid_submission_time() -> None:
    assert validate_submitted_at(0) == 0


def reason(value: object) -> str:
    with pytest.raises(InvalidSubmittedAt) as raised:
        validate_submitted_at(value)
    return str(raised.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            1_800_000_000_000,
            "submitted_at 1800000000000 looks like milliseconds or finer; give epoch seconds (e.g. 1800000000), "
            "below 10000000000",
        ),
        (
            MS_THRESHOLD,
            "submitted_at 100000000000 looks like milliseconds or finer; give epoch seconds (e.g. 100000000), "
            "below 10000000000",
        ),
        (
            MAX_SUBMITTED_AT,  # too large, yet not milliseconds of any date: no example
            "submitted_at 10000000000 looks like milliseconds or finer; give epoch seconds, below 10000000000",
        ),
        ("soon", "submitted_at must be whole epoch seconds, got 'soon'"),
        ("9" * 60, f"submitted_at must be whole epoch seconds, got {'9' * 40!r}"),
    ],
)
def test_a_refused_submission_time_says_why(value: object, expected: str) -> None:
    assert reason(value) == expected


def test_every_outside_value_of_an_outcome_is_clipped_or_normalised() -> None:
    # Given an outcome built from over-long values and a finish time in milliseconds
    lost = StoredFile.not_archived("file", "https://files.example/" + "s" * 3000, "r" * 1500)
    outcome = Outcome(
        "r1",
        Status.FAILED,
        Kind.UPDATE,
        submitted_at=1_800_000_000,
        finished_at=1_800_000_100_123,
        attempts=1,
        files=(lost,),
        api_code="c" * 100,
        api_description="d" * 400,
    )
    # Then each is as a subscriber and the table receive it: seconds, and cut texts ending in "..."
    assert outcome.finished_at == 1_800_000_100
    assert outcome.api_code == "c" * 61 + "..."
    assert outcome.api_description == "d" * 297 + "..."
    [entry] = outcome.files
    assert entry.source == ("https://files.example/" + "s" * 3000)[:2045] + "..."
    assert entry.reason == "r" * 997 + "..."
