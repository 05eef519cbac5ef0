"""The per-request backoff. The API rate limit shared by the sweeps lives in core/throttle.py.

Two shapes (docs/configuration.md, "Trading lag for calls"):
- `backoff_seconds`: exponential with equal jitter (BACKOFF_AGE_FRACTION=0, the code's default); the wait of a
  long job grows to BACKOFF_MAX_SECONDS, so a 4-hour job may be announced up to half an hour late.
- `cadence_seconds`: the same exponential step, but never longer than BACKOFF_AGE_FRACTION of the age the request
  has reached, nor shorter than BACKOFF_BASE_SECONDS. The lag of a job is then at most about that fraction of its
  duration, and the calls grow with the logarithm of the duration, not with the duration.
"""

from __future__ import annotations

import random
from functools import lru_cache

AGE_JITTER = 0.1  # cadence_seconds draws in [0.9 step, step]: spread, but the lag bound holds


def backoff_seconds(attempts: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with equal jitter and a floor: uniform in [step / 2, step], at least `base`,
    where step = min(cap, base * 2**attempts).

    Full jitter (uniform in [0, step]) could ask a pending request again a second later, spending the tenant's
    throttle; half the step is kept, so the calls per request stay bounded (docs/configuration.md has the table).
    """
    step = min(cap, base * 2 ** min(max(attempts, 0), 40))
    return max(min(base, cap), rng.uniform(step / 2, step))


def cadence_seconds(attempts: int, base: float, cap: float, age_fraction: float, rng: random.Random) -> float:
    """The wait before the next check after `attempts` checks: `backoff_seconds` when `age_fraction` is 0, else
    `cadence_step` drawn down by at most AGE_JITTER, and at least `base` (and at most `cap`)."""
    if age_fraction <= 0:
        return backoff_seconds(attempts, base, cap, rng)
    step = cadence_step(attempts, base, cap, age_fraction)
    return max(min(base, cap), rng.uniform(step * (1 - AGE_JITTER), step))


@lru_cache(maxsize=4096)
def cadence_step(attempts: int, base: float, cap: float, age_fraction: float) -> float:
    """min(cap, base * 2**attempts, max(base, age_fraction * age)), where age is the nominal age after `attempts`
    checks: the sum of the steps before (the first check at age 0).

    The claim writes the next check before it reads the item, and the due index carries only the attempt count
    (core/schedule.py), so the age used is the one the request has when every check was on time. A request
    checked late (a sweep delayed) is older than that: its step is then a smaller part of its age, so it may be
    asked a little more often, never announced later.
    """
    attempts = min(max(attempts, 0), 10_000)
    age, step = 0.0, min(cap, base)
    for k in range(attempts + 1):
        step = min(cap, base * 2 ** min(k, 40), max(base, age_fraction * age))
        if step >= cap:  # every later step is the cap
            return cap
        age += step
    return step
