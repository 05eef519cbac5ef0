"""The age-capped cadence (BACKOFF_AGE_FRACTION, core/pacing.py): the lag stays a fraction of the job's duration
and the calls grow with its logarithm, within today's bound for a day-long job."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from local.template import TEMPLATE, load_template
from profile_poller.core.pacing import AGE_JITTER, backoff_seconds, cadence_seconds, cadence_step

_ENV = load_template(TEMPLATE)["Resources"]["PollerFunction"]["Properties"]["Environment"]["Variables"]
# the template's cadence: the bounds below hold for what a stack deploys
BASE, CAP, FRACTION = (float(_ENV[n]) for n in ("BACKOFF_BASE_SECONDS", "BACKOFF_MAX_SECONDS", "BACKOFF_AGE_FRACTION"))


class LowestDraw(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return min(a, b)


def test_with_no_age_fraction_the_backoff_is_the_plain_exponential_one() -> None:
    for attempts in range(12):
        assert cadence_seconds(attempts, 30, 1800, 0.0, random.Random(attempts)) == backoff_seconds(
            attempts, 30, 1800, random.Random(attempts)
        )


@pytest.mark.parametrize("seed", range(20))
def test_a_wait_is_never_below_the_base_nor_above_the_cap_nor_past_the_age_fraction(seed: int) -> None:
    # (hypothesis is not in the dev dependencies: seeded draws over every attempt count up to the cap and past it)
    rng = random.Random(seed)
    for attempts in [*range(80), 500, 9999]:
        wait = cadence_seconds(attempts, BASE, CAP, FRACTION, rng)
        age = sum(cadence_step(k, BASE, CAP, FRACTION) for k in range(min(attempts, 80)))
        assert BASE <= wait <= CAP
        assert wait <= max(BASE, FRACTION * age) + 1e-9  # the lag of a job finishing just after a check is bounded


def test_young_requests_are_asked_every_base_seconds_then_the_wait_grows_with_their_age() -> None:
    steps = [cadence_step(k, BASE, CAP, FRACTION) for k in range(60)]
    assert steps[:7] == [BASE] * 7  # the first two minutes and more: every 20 s
    assert all(later >= earlier for earlier, later in itertools.pairwise(steps))
    assert steps[-1] == CAP


def test_jitter_spreads_the_waits_by_at_most_a_tenth() -> None:
    rng = random.Random(3)
    draws = [cadence_seconds(30, BASE, CAP, FRACTION, rng) for _ in range(500)]
    step = cadence_step(30, BASE, CAP, FRACTION)
    assert min(draws) >= step * (1 - AGE_JITTER) and max(draws) <= step and len(set(draws)) > 100


def calls_for(job_seconds: float, period: float, hold: float = 21.0) -> int:
    """Calls until the job is seen finished with the lowest draws, each check at the first whole second it is due
    (a sweep that stays up) or at the next schedule tick when `period` is given."""
    now, attempts, rng = 0.0, 0, LowestDraw()
    while True:
        attempts += 1
        if now >= job_seconds:
            return attempts
        due = now + max(hold, math.ceil(cadence_seconds(attempts - 1, BASE, CAP, FRACTION, rng)))
        now = math.ceil(due / period) * period if period else due


def test_a_day_long_job_costs_at_most_100_calls_even_with_the_unluckiest_jitter() -> None:
    # Given the template's cadence (20 s, 15 % of the age, 30 min cap) and every draw the lowest
    # When a job stays pending for 24 hours, checked as soon as due (a sweep staying up) or at 1-minute ticks
    # Then it is asked at most 100 times (today's bound) either way
    assert calls_for(86_400, 0) <= 100
    assert calls_for(86_400, 60) <= 100


def test_the_calls_grow_with_the_logarithm_of_the_duration() -> None:
    one_hour, four_hours = calls_for(3600, 0), calls_for(4 * 3600, 0)
    assert four_hours - one_hour <= 12  # a fixed 60 s loop: 180 more
