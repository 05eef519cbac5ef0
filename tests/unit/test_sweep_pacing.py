"""The sweep's pace: Retry-After and 429s, the asking lease shared by the sweeps, the configured rate, and the
Lambda time budget (kept back for the work in flight when the table is slow). No real sleeping: a FakeClock."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from profile_poller.core.model import Outcome
from tests.fakes import FakeNotifier, json_response
from tests.unit.sweep_world import BASE, PENDING, World, world

__all__ = ["world"]


def throttle_call(world: World, n: int) -> None:
    """The API answers the n-th status call 429. By call, not by request id: the asking semaphore is not fair, so a
    request claimed early may be asked after later ones (seen: the fifth claimed asked last of 30)."""
    calls: list[str] = []

    def nth_throttled(rid: str) -> None:
        calls.append(rid)
        if len(calls) == n:
            world.api.answers[rid] = [json_response(429, '{"code": 429}')]

    world.api.before_query = nth_throttled


def test_a_long_retry_after_ends_the_sweep_without_sleeping_and_is_honoured(world: World) -> None:
    world.register(*[f"r{i}" for i in range(20)])
    world.api.answers["r0"] = [json_response(429, '{"code": 429}', {"Retry-After": "120"})]
    summary = world.sweep(concurrency=1)
    assert summary["throttled"] == 1 and "Retry-After" in str(summary["stopped"])
    assert int(world.store.items["r0"]["next_check_at"]) == int(world.clock()) + 120
    asked = {rid for rid, _ in world.api.asked}
    assert asked == {"r0"}  # nobody else was asked in this sweep
    untouched = [i for rid, i in world.store.items.items() if rid != "r0"]
    assert all(i["next_check_at"] == 0 and "lease_owner" not in i for i in untouched)  # still due, unleased
    assert world.clock.slept < 1.0  # the 120 s were not slept
    # and the next sweeps honour the pause the API asked for (kept on the asking lease): 60 s later one ends at
    # once, 110 s later one sleeps the last 10 s before asking
    world.clock.advance(60)
    assert "Retry-After" in str(world.sweep(owner="owner-2", concurrency=1)["stopped"]) and len(world.api.asked) == 1
    world.clock.advance(50)
    world.sweep(owner="owner-3", concurrency=1)
    assert world.clock() >= 1_800_000_120 and len(world.api.asked) > 1


def test_a_429_slows_the_sweep_down_instead_of_stopping_it(world: World) -> None:
    # Given 30 requests at 10 calls a second, and the API throttling the fifth call (no Retry-After)
    world.register(*[f"r{i:02d}" for i in range(30)])
    throttle_call(world, 5)
    started = world.clock()
    # When a sweep runs
    summary = world.sweep(concurrency=1, rate_limit_per_second=10)
    # Then every request was asked, the rate dropped (multiplicatively) and is recovering (additively)
    assert summary["throttled"] == 1 and summary["stopped"] is None and len(world.api.asked) == 30
    assert summary["still_pending"] == 29
    assert 3 <= summary["asking_rate_per_second"] < 10
    assert world.clock() - started > 29 / 10  # slower than the configured rate


def test_a_429_cuts_the_rate_to_three_quarters_of_what_the_api_accepted_in_the_last_second(world: World) -> None:
    # Given 30 requests at 10 calls a second, and the API throttling the ninth call: it accepted 8 in that second
    world.register(*[f"r{i:02d}" for i in range(30)])
    throttle_call(world, 9)
    # When a sweep runs
    summary = world.sweep(concurrency=1, rate_limit_per_second=10)
    # Then the rate was cut to 0.75 x 8 = 6/s (not 0.75 x 5, half the configured rate), then recovered by 10/80 a
    # second while the 21 calls after it were made; the sweep reports that rate to the thousandth
    assert summary["throttled"] == 1 and len(world.api.asked) == 30
    assert summary["asking_rate_per_second"] == 6.427


def test_an_extra_sweep_ends_at_once_and_says_why(world: World) -> None:
    world.register("r1")
    world.store.take_asking("other-sweep", int(world.clock()), int(world.clock()) + 60)
    summary = world.sweep()
    assert summary["due_seen"] == 0 and world.api.asked == []
    assert "another sweep (other-sweep) holds the asking lease" in str(summary["stopped"])
    # and once that sweep's lease has run out (it died), the next sweep asks
    world.clock.advance(61)
    assert world.sweep()["still_pending"] == 1


def test_the_rate_limit_spaces_calls_without_real_sleeping(world: World) -> None:
    world.register(*[f"r{i}" for i in range(11)])
    world.sweep(rate_limit_per_second=2, concurrency=1)
    assert len(world.api.asked) == 11
    assert world.clock.slept == pytest.approx(5.0, abs=0.01)  # 1 token at start, then 10 calls at 2/s


def test_time_budget_stops_claiming(world: World) -> None:
    world.register("r1", "r2")
    world.remaining_ms = BASE.time_margin_seconds * 1000 - 1
    summary = world.sweep()
    assert summary["claimed"] == 0 and summary["stopped"].startswith("time budget")
    assert world.api.asked == []


def test_a_slow_table_makes_the_sweep_keep_back_time_for_the_work_in_flight(world: World) -> None:
    # Given 70 s of Lambda time left: more than TIME_MARGIN_SECONDS (30 s) + one status call's bound (25 s)
    world.register("r1", "r2", "r3")
    world.remaining_ms = 70_000
    world.api.answers.update({rid: [PENDING] for rid in ("r1", "r2", "r3")})
    # When every claim takes 2 s: the item's remaining writes and a batch's terminal writes may take 12 x 2 s more
    world.store.before_claim = lambda _rid: world.clock.advance(2)
    summary = world.sweep(concurrency=1)
    # Then the sweep stops after the first claim instead of asking for all three
    assert summary["claimed"] == 1 and "work in flight" in summary["stopped"]


def test_a_fast_table_leaves_the_same_time_enough_for_everything(world: World) -> None:
    world.register("r1", "r2", "r3")
    world.remaining_ms = 70_000
    world.api.answers.update({rid: [PENDING] for rid in ("r1", "r2", "r3")})
    summary = world.sweep(concurrency=1)
    assert summary["claimed"] == 3 and summary["stopped"] is None


class SlowTopic(FakeNotifier):
    """Each PublishBatch takes 2 s."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self._world = world

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        self._world.clock.advance(2)
        return super().publish(outcomes)


def test_a_slow_topic_makes_the_sweep_keep_back_time_for_the_batches_in_flight(world: World) -> None:
    # Given 70 s of Lambda time left and 30 requests that are done, and a topic taking 2 s a publish
    ids = [f"r{i:02d}" for i in range(30)]
    world.register(*ids)
    world.api.answers.update({rid: [json_response(200, '{"update-count": 1}')] for rid in ids})
    world.notifier = SlowTopic(world)
    world.remaining_ms = 70_000
    # When a sweep runs: its first batch of ten outcomes is published mid-sweep
    summary = world.sweep(concurrency=1)
    # Then it keeps back time for a batch's publish and stops claiming instead of asking for all thirty
    assert "work in flight" in summary["stopped"] and summary["claimed"] < 30
    assert any(world.status(rid) == "PENDING" for rid in ids)
