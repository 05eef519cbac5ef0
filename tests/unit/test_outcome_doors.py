"""Every outcome leaves by the SNS topic and the outcome bus (issue 19): it counts as published only when both
took it; an entry refused by either is sent again, with the same event_id, through that door only."""

from __future__ import annotations

import random

from profile_poller.core.doors import AllDoors
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE


def sweep(store: FakeStore, api: FakeApi, clock: FakeClock, sns: FakeNotifier, bus: FakeNotifier) -> dict[str, object]:
    deps = SweepDeps(
        store, api, FakeKeys("k"), FakeArchive(), AllDoors([sns, bus]), clock, clock.sleep, random.Random(1)
    )
    return Sweep(BASE, deps, "owner", lambda: 600_000).run().as_dict()


def test_an_event_the_bus_refused_keeps_the_request_pending_and_only_the_bus_gets_it_again() -> None:
    # Given two finished requests, the bus refusing r1's event once
    clock, store, api, sns, bus = FakeClock(), FakeStore(), FakeApi(), FakeNotifier(), FakeNotifier()
    for rid in ("r1", "r2"):
        store.put_pending(rid, int(clock()))
        api.answers[rid] = [json_response(200, '{"update-count": 1}')]
    bus.refuse_once = {"r1"}
    # When a sweep settles them
    summary = sweep(store, api, clock, sns, bus)
    # Then r2 is finished and r1 waits, though SNS took it
    assert summary["publish_failures"] == 1 and summary["completed"] == 1
    assert store.items["r1"]["status"] == "PENDING" and store.items["r2"]["status"] == "COMPLETED"
    # And the next sweep sends r1 again, with the same event_id, only through the door that refused it
    clock.advance(float(store.items["r1"]["next_check_at"]) - clock() + 1)
    sweep(store, api, clock, sns, bus)
    assert store.items["r1"]["status"] == "COMPLETED"
    assert [o.event_id for o in sns.published].count("r1:COMPLETED") == 1  # SNS took it once: no duplicate
    assert [o.event_id for o in bus.published] == ["r2:COMPLETED", "r1:COMPLETED"]


def test_each_door_gets_every_outcome_of_the_batch() -> None:
    sns, bus = FakeNotifier(), FakeNotifier()
    clock, store, api = FakeClock(), FakeStore(), FakeApi()
    for rid in ("a", "b", "c"):
        store.put_pending(rid, int(clock()))
        api.answers[rid] = [json_response(200, '{"code": 3005}')]
    sweep(store, api, clock, sns, bus)
    assert sorted(o.event_id for o in sns.published) == sorted(o.event_id for o in bus.published)
    assert len(bus.published) == 3


def test_the_doors_as_one_notifier_report_an_outcome_failed_when_any_door_refused_it() -> None:
    # Given three outcomes, the topic refusing a, the bus refusing b
    sns, bus = FakeNotifier(), FakeNotifier()
    sns.refuse_once, bus.refuse_once = {"a"}, {"b"}
    outcomes = [Outcome(rid, Status.COMPLETED, Kind.UPDATE, 1_800_000_000, 1_800_000_060, 1) for rid in "abc"]
    # When they are published through both doors as one notifier
    failed = AllDoors([sns, bus]).publish(outcomes)
    # Then a and b count as failed, c as published; each door got all three
    assert failed == {"a:COMPLETED", "b:COMPLETED"}
    assert sns.batches == bus.batches == [3]


def test_doors_given_by_position_are_the_topic_the_bus_then_numbered() -> None:
    assert AllDoors([FakeNotifier(), FakeNotifier(), FakeNotifier()]).names == {"sns", "events", "door-2"}
