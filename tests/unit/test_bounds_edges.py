"""Bounds at their edges: clipping at exactly the limit, code folding at exactly MAX_CODES and by rank, epoch
seconds at the milliseconds threshold, and the reasons registration gives for a refused submitted_at."""

from __future__ import annotations

import pytest

from profile_poller.core.bounds import (
    MAX_SUBMITTED_AT,
    MS_THRESHOLD,
    OTHER_CODE,
    InvalidSubmittedAt,
    clip,
    epoch_seconds,
    fold_codes,
    validate_submitted_at,
)


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
