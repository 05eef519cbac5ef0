"""Numbers in the requests table's items: any float a sweep computes (a rate of 0.3, a rate after a 429 and a
partial recovery) is written as the Decimal it prints as and read back as the same float."""

from __future__ import annotations

import json
import random
from decimal import Decimal

from profile_poller.adapters.dynamo_items import from_dynamo, to_dynamo

# DynamoDB numbers hold 38 significant digits; a float's shortest repr has at most 17. A seeded sample over the
# range a rate or a time takes (hypothesis is not a dependency of this project)
_dice = random.Random(21)
SAMPLE = [0.1, 0.3, 2 / 3, 1e-6, 1e9 + 0.5, 1_800_000_031.3] + [
    _dice.uniform(0, 10) ** _dice.choice((1, 3, 9)) for _ in range(300)
]


def test_a_rate_not_exact_in_binary_is_written_as_it_prints() -> None:
    assert to_dynamo({"rate": 0.3}) == {"rate": {"N": "0.3"}}
    assert to_dynamo({"nested": {"rates": [0.1, 2 / 3]}}) == {
        "nested": {"M": {"rates": {"L": [{"N": "0.1"}, {"N": "0.6666666666666666"}]}}}
    }


def test_any_float_round_trips_through_the_item_format() -> None:
    for rate, paused in zip(SAMPLE, reversed(SAMPLE), strict=True):
        assert_round_trip(rate, paused)


def assert_round_trip(rate: float, paused: float) -> None:
    item = to_dynamo({"rate": rate, "state": {"paused_until": paused}, "history": [rate]})
    assert Decimal(item["rate"]["N"]) == Decimal(repr(rate))
    back = from_dynamo(item)
    assert back["rate"] == rate and back["state"]["paused_until"] == paused and back["history"] == [rate]


def test_an_item_read_back_prints_as_json_whole_numbers_as_integers_and_sets_as_sorted_lists() -> None:
    # Given an item as DynamoDB returns it: counts, a next check with its attempt in the fraction, a rate, and
    # sets (an operator's hand edit may hold one)
    item = {
        "attempts": {"N": "3"},
        "next_check_at": {"N": "1700000060.0002"},
        "rate": {"N": "0.5"},
        "outcome": {"M": {"update_count": {"N": "12"}, "codes": {"SS": ["3005", "1001"]}}},
        "sizes": {"NS": ["10", "2.5"]},
    }
    # When it is read, Then it prints as the producer and the operator wrote it: 3, not 3.0
    assert json.dumps(from_dynamo(item), sort_keys=True) == (
        '{"attempts": 3, "next_check_at": 1700000060.0002, "outcome": {"codes": ["1001", "3005"], '
        '"update_count": 12}, "rate": 0.5, "sizes": [2.5, 10]}'
    )
