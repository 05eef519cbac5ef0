"""An outage (more than half of the status calls failing, core/outage.py) stops the sweep as an alarm: systemic,
logged at ERROR, and counted once even when several calls in flight together find it."""

from __future__ import annotations

import threading

import pytest

from profile_poller.core.ports import TransportError
from tests.unit.sweep_world import World, world
from tests.unit.test_sweep_failures import stops

__all__ = ["world"]


def test_an_outage_stops_the_sweep_as_an_alarm(world: World, caplog: pytest.LogCaptureFixture) -> None:
    # Given six requests and an API timing out on every call
    ids = [f"r{i}" for i in range(6)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [TransportError("ReadTimeout")]
    # When a sweep asks them one at a time
    summary = world.sweep(concurrency=1)
    # Then it stops after five calls as systemic, once, logged at ERROR
    assert len(world.api.asked) == 5 and summary["systemic"] == 1
    assert "the API is failing across the board" in str(summary["stopped"])
    assert stops(caplog) == [("ERROR", summary["stopped"])]


def test_an_outage_seen_by_several_calls_at_once_is_counted_once(world: World) -> None:
    # Given six requests and an API timing out on every call, the six calls in flight together
    ids = [f"r{i}" for i in range(6)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [TransportError("ReadTimeout")]
    together = threading.Barrier(len(ids), timeout=10)  # bounds a mutant that keeps calls apart

    def in_flight_together(_: str) -> None:
        together.wait()

    world.api.before_query = in_flight_together
    # When a sweep asks them six at a time: the fifth and the sixth failure each find an outage
    summary = world.sweep(concurrency=6)
    # Then the sweep stopped once: one systemic failure
    assert len(world.api.asked) == 6 and summary["systemic"] == 1
    assert "the API is failing across the board" in str(summary["stopped"])
