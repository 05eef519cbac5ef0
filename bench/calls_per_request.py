"""Status calls per request for a job of a given length: the table in docs/configuration.md.

`python -m bench.calls_per_request [BASE MAX PERIOD]` (defaults: 30 s, 1800 s, 300 s, as the template sets them).
Simulates `core.pacing.backoff_seconds` against a schedule: the first call is at the first sweep, a rescheduled
request is asked at the first sweep at or after its next_check_at. "expected" is the mean over 2,000 random draws,
"at most" the unluckiest draws (every delay the lowest the jitter allows).
"""

from __future__ import annotations

import math
import random
import statistics
import sys

from profile_poller.core.pacing import backoff_seconds

LENGTHS = [("5 min", 300), ("15 min", 900), ("1 h", 3600), ("6 h", 21_600), ("24 h", 86_400), ("48 h", 172_800)]


class _Lowest(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return min(a, b)


def calls(job_seconds: int, base: float, cap: float, period: int, rng: random.Random) -> int:
    """Calls until the first one at or after the job finishes (the one that sees it done)."""
    now, attempts = 0, 0
    while True:
        attempts += 1
        if now >= job_seconds:
            return attempts
        due = now + max(1, math.ceil(backoff_seconds(attempts - 1, base, cap, rng)))
        now = math.ceil(due / period) * period


def main() -> int:
    base, cap, period = (float(a) for a in sys.argv[1:4]) if len(sys.argv) == 4 else (30.0, 1800.0, 300.0)
    rng = random.Random(7)
    print(f"BACKOFF_BASE_SECONDS={base:g} BACKOFF_MAX_SECONDS={cap:g}, a sweep every {period:g} s")
    print("| job length | expected calls | at most |")
    print("|---|---|---|")
    for name, seconds in LENGTHS:
        mean = statistics.mean(calls(seconds, base, cap, int(period), rng) for _ in range(2000))
        worst = calls(seconds, base, cap, int(period), _Lowest())
        print(f"| {name} | {mean:.1f} | {worst} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
