"""The per-request backoff. The API rate limit shared by the sweeps lives in core/throttle.py."""

from __future__ import annotations

import random


def backoff_seconds(attempts: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with equal jitter and a floor: uniform in [step / 2, step], at least `base`,
    where step = min(cap, base * 2**attempts).

    Full jitter (uniform in [0, step]) could ask a pending request again a second later, spending the tenant's
    throttle; half the step is kept, so the calls per request stay bounded (docs/configuration.md has the table).
    """
    step = min(cap, base * 2 ** min(max(attempts, 0), 40))
    return max(min(base, cap), rng.uniform(step / 2, step))
