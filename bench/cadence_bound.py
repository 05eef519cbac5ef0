"""A lower bound on the status calls a job of any polling schedule needs to meet issue 20's two lag goals, for the
bench's jobs (durations log-uniform 5 s..4 h): `python -m bench.cadence_bound` (about a minute a multiplier pair).

Any schedule is a sequence of check times t1 < t2 < ... after submission (a schedule that depends on nothing but the
request's age: the status answer says only "not yet"). A job of duration d costs the checks up to the first t ≥ d;
its lag is that t - d. The goals allow 5 % of the short jobs (≤ 300 s) a lag over 30 s and 5 % of the long ones a
lag over 0.15 x d. For multipliers (a, b) a shortest path over a time grid (every second to 300 s, then 1 % steps)
finds the schedule minimising  E[calls] + a x short violations + b x long violations  = L(a, b); every schedule on
the grid meeting both goals then costs at least L(a, b) - 0.05 (a + b) calls a job (Lagrangian duality). Checks at
the exact second (no sweep, no jitter): the real poller can only do worse.
"""

from __future__ import annotations

import math
import sys

LOW, HIGH, SHORT = 5.0, 4 * 3600.0, 300.0
WIDTH = math.log(HIGH / LOW)


def below(t: float) -> float:
    """P(d ≤ t)."""
    return min(1.0, max(0.0, math.log(max(t, LOW) / LOW) / WIDTH))


SHORT_SHARE = below(SHORT)
GRID = [float(s) for s in range(1, 301)] + [SHORT * 1.01**i for i in range(1, 392)]  # past 4 h at the end


def violations(a: float, b: float) -> tuple[float, float]:
    """Share of short / long jobs finishing in (a, b] (checked at b) whose lag breaks the goal."""
    short = max(0.0, below(min(b - 30, SHORT)) - below(a)) if b - 30 > a else 0.0
    lo = max(a, SHORT)
    long = max(0.0, below(min(b, b / 1.15)) - below(lo)) if b / 1.15 > lo else 0.0
    return short / SHORT_SHARE, long / (1 - SHORT_SHARE)


def solve(ka: float, kb: float) -> tuple[float, float, float]:
    """(E[calls], short violations, long violations) of the schedule minimising the Lagrangian."""
    n = len(GRID)
    best = [math.inf] * n
    path: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * n
    for j in range(n):
        vs, vl = violations(0.0, GRID[j])
        best[j] = 1 + ka * vs + kb * vl
        path[j] = (1.0, vs, vl)
    for i in range(n):
        alive = 1 - below(GRID[i])  # the next check is made only for jobs not done at GRID[i]
        if alive <= 0:
            continue
        for j in range(i + 1, n):
            if GRID[j] > 3 * GRID[i] + 400:
                break
            vs, vl = violations(GRID[i], GRID[j])
            cost = best[i] + alive + ka * vs + kb * vl
            if cost < best[j]:
                best[j] = cost
                calls, s, lng = path[i]
                path[j] = (calls + alive, s + vs, lng + vl)
    end = min((j for j in range(n) if GRID[j] >= HIGH), key=lambda j: best[j])
    return path[end]


def fixed60() -> float:
    """E[calls] of a loop asking every 60 s (first call at 60 s): E[ceil(d / 60)]."""
    return sum((1 - below(60.0 * k)) for k in range(0, int(HIGH // 60) + 1))


def main() -> int:
    pairs = [(float(a), float(b)) for a, b in (arg.split(",") for arg in sys.argv[1:])] or [(16, 13), (18, 13)]
    loop = fixed60()
    print(f"fixed 60 s loop: {loop:.2f} calls a job; 0.35 x = {0.35 * loop:.2f}")
    for a, b in pairs:
        calls, vs, vl = solve(a, b)
        bound = calls + a * vs + b * vl - 0.05 * (a + b)
        print(
            f"multipliers ({a:g}, {b:g}): optimum {calls:.2f} calls with {vs:.3f} / {vl:.3f} of short / long jobs "
            f"late; any schedule meeting both goals: >= {bound:.2f} calls a job = {bound / loop:.3f} x the loop",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
