"""An API outage is not a request failure (issue 17, item 4): when the status calls of a sweep fail transiently
across the board the sweep stops as systemic and charges nobody; a request ends FAILED from transient errors only
when it keeps failing while others get answers; one whose MAX_AGE_SECONDS passes during an outage ends EXPIRED."""

from __future__ import annotations

from profile_poller.core.outage import OUTAGE_MIN_CALLS, OutageWatch
from profile_poller.core.ports import TransportError
from tests.fakes import json_response
from tests.unit.sweep_world import PENDING, World, world

__all__ = ["world"]

HOUR = 3600
TIMEOUT = TransportError("ReadTimeout talking to tenant.example")


def test_fewer_than_five_calls_are_never_an_outage_and_a_lone_failure_is_not_charged() -> None:
    watch = OutageWatch()
    tallies = [watch.record(transient=True) for _ in range(OUTAGE_MIN_CALLS - 1)]
    assert [t.outage for t in tallies] == [None] * 4
    assert [t.charge for t in tallies] == [False] * 4  # nobody else got an answer


def test_most_of_five_calls_failing_is_an_outage() -> None:
    watch = OutageWatch()
    for transient in (False, False, True, True):
        assert watch.record(transient).outage is None
    tally = watch.record(transient=True)
    assert tally.outage is not None and "3 of 5 status calls failed transiently" in tally.outage
    assert tally.charge is False


def test_a_failure_among_answers_is_charged() -> None:
    watch = OutageWatch()
    watch.record(transient=False)
    assert watch.record(transient=True).charge is True


def test_an_outage_of_hours_fails_nobody_and_requests_past_max_age_expire(world: World) -> None:
    # Given 50 pending requests and an API whose every call times out for 30 hours (MAX_AGE 24 h)
    ids = [f"r{i:02d}" for i in range(50)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [TIMEOUT]
    stops = set()
    # When a sweep runs every minute through the outage
    for _ in range(30 * 60):
        summary = world.sweep(max_age_seconds=24 * HOUR, max_transient_errors=3, backoff_max_seconds=600)
        stops.add(summary["stopped"])
        world.clock.advance(60)
    # Then nobody was charged or failed, the sweeps stopped as systemic, and every request ended EXPIRED
    statuses = {world.status(rid) for rid in ids}
    assert statuses == {"EXPIRED"}
    assert all(world.published(rid)[0].status.value == "EXPIRED" for rid in ids)
    assert any(s and "failing across the board" in s for s in stops)
    assert all(not world.store.items[rid].get("transient_errors") for rid in ids)


def test_an_outage_sweep_counts_as_systemic_and_asks_no_more(world: World) -> None:
    ids = [f"r{i:02d}" for i in range(40)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [json_response(503, "<html>Service Unavailable</html>")]
    summary = world.sweep(concurrency=2)
    assert summary["systemic"] == 1 and "failing across the board" in str(summary["stopped"])
    assert len(world.api.asked) < 10  # five calls and those already in flight, not forty
    assert all(world.status(rid) == "PENDING" for rid in ids)


def test_after_the_outage_the_requests_are_answered_as_usual(world: World) -> None:
    ids = [f"r{i:02d}" for i in range(20)]
    world.register(*ids)
    for rid in ids:
        world.api.answers[rid] = [TIMEOUT, TIMEOUT, PENDING, json_response(200, '{"update-count": 1}')]
    for _ in range(200):
        world.sweep(max_transient_errors=2, backoff_max_seconds=300)
        world.clock.advance(60)
    assert {world.status(rid) for rid in ids} == {"COMPLETED"}


def test_a_request_failing_while_the_others_get_answers_still_ends_failed(world: World) -> None:
    # Given one request whose calls always time out among twenty that are answered
    world.register("bad")
    world.api.answers["bad"] = [TIMEOUT]
    world.register(*[f"ok{i:02d}" for i in range(20)])
    for _ in range(400):
        world.sweep(max_transient_errors=3, backoff_max_seconds=300)
        world.clock.advance(60)
    # Then it is charged and ends FAILED, the others still pending (they answered "still processing")
    assert world.status("bad") == "FAILED"
    [outcome] = world.published("bad")
    assert "3 transient errors in a row" in (outcome.reason or "")
    assert all(world.status(f"ok{i:02d}") == "PENDING" for i in range(20))
