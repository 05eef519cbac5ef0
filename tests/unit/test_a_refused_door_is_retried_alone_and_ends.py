"""An outcome a door keeps refusing (review item 1): only that door (or the callback) is offered it again, after a
backoff rather than at every pass of a sweep that stays up, and at most DELIVERY_RETRY_SECONDS after the decision;
then the request finishes, the miss recorded and counted. A settling request counts in the age figure."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from profile_poller.core.callbacks import DELIVERY_RETRY_SECONDS
from profile_poller.core.doors import AllDoors
from profile_poller.core.model import Outcome
from profile_poller.core.ports import CallbackUnavailable
from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE

TEMPLATE = replace(BASE, backoff_base_seconds=20, backoff_age_fraction=0.15, stay_up_seconds=55)
MAX_AGE = BASE.max_age_seconds


class Denied:
    """Step Functions answering AccessDenied for good (an SCP, a permission boundary)."""

    def __init__(self) -> None:
        self.finals = 0

    def succeed(self, token: str, output: str) -> None:
        self.finals += 1
        raise CallbackUnavailable("AccessDeniedException")

    def fail(self, token: str, error: str, cause: str) -> None:
        self.finals += 1
        raise CallbackUnavailable("AccessDeniedException")

    def heartbeat(self, token: str) -> None:
        raise CallbackUnavailable("AccessDeniedException")


class RefusingBus(FakeNotifier):
    """An outcome bus that refuses every entry (a bus policy, a deleted bus)."""

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        self.calls += 1
        return {o.event_id for o in outcomes}


def _sweep(store: FakeStore, clock: FakeClock, notifier: object, tasks: object, s: object = BASE) -> dict[str, object]:
    api = FakeApi()
    for rid in store.items:
        api.answers[rid] = [json_response(200, '{"update-count": 1}')]
    deps = SweepDeps(store, api, FakeKeys("k"), FakeArchive(), notifier, clock, clock.sleep, random.Random(7))  # type: ignore[arg-type]
    deps.tasks = tasks  # type: ignore[assignment]
    return Sweep(s, deps, "o", lambda: 900_000).run().as_dict()  # type: ignore[arg-type]


def test_a_callback_denied_for_good_finishes_the_request_undelivered_within_the_bound() -> None:
    # Given a request with a task token, and Step Functions answering AccessDenied for good
    clock, store, sns, sfn = FakeClock(), FakeStore(), FakeNotifier(), Denied()
    store.put_pending("r1", int(clock()) - 60, task_token="tok")
    decided_at = int(clock())
    undelivered = 0
    # When sweeps run every 10 minutes for 50 hours
    for _ in range(300):
        undelivered += int(_sweep(store, clock, sns, sfn)["callbacks_undelivered"])  # type: ignore[call-overload]
        clock.advance(600)
        if store.items["r1"]["status"] != "PENDING":
            break
    # Then the request finished once the bound ran out (plus at most one backoff and one sweep period)
    item = store.items["r1"]
    assert item["status"] == "COMPLETED"
    assert item["finished_at"] <= decided_at + 60
    assert clock() - decided_at <= DELIVERY_RETRY_SECONDS + BASE.backoff_max_seconds + 2 * 600
    # And the item records the undelivered callback without the token, counted once
    assert item["task_callback"] == {"result": "undelivered", "error": "AccessDeniedException"}
    assert "task_token" not in item and "settling" not in item and undelivered == 1
    # And SNS got the message once, not once a sweep; the callback was tried a bounded number of times
    assert [o.request_id for o in sns.published] == ["r1"]
    assert 1 < sfn.finals < 30


def test_a_sweep_that_stays_up_does_not_retry_a_refused_callback_at_every_pass() -> None:
    clock, store, sns = FakeClock(), FakeStore(), FakeNotifier()
    store.put_pending("r1", int(clock()) - 60, task_token="tok")
    sfn = Denied()
    _sweep(store, clock, sns, sfn, TEMPLATE)  # one 55-second sweep with passes a second apart
    assert len(sns.published) == 1
    assert sfn.finals <= 3


def test_an_outcome_bus_refusing_for_good_does_not_repeat_the_sns_message() -> None:
    # Given an outcome bus that refuses every entry
    clock, store, sns, bus = FakeClock(), FakeStore(), FakeNotifier(), RefusingBus()
    store.put_pending("r1", int(clock()) - 60)
    undelivered = 0
    # When sweeps run every 10 minutes past the bound
    for _ in range(50):
        undelivered += int(_sweep(store, clock, AllDoors([sns, bus]), None, TEMPLATE)["outcomes_undelivered"])  # type: ignore[call-overload]
        clock.advance(600)
    # Then SNS subscribers got the message once, the bus was offered it again (after backoffs), and it ended
    assert [o.request_id for o in sns.published] == ["r1"]
    assert 2 < bus.calls < 40
    assert store.items["r1"]["status"] == "COMPLETED" and undelivered == 1


def test_a_settling_request_counts_in_the_oldest_pending_age() -> None:
    clock, store, sns = FakeClock(), FakeStore(), FakeNotifier()
    store.put_pending("r1", int(clock()) - 60, task_token="tok")
    _sweep(store, clock, sns, Denied())
    clock.advance(7200)
    summary = _sweep(store, clock, sns, Denied())
    assert summary["oldest_pending_age_seconds"] is not None
    assert int(summary["oldest_pending_age_seconds"]) >= 7200  # type: ignore[call-overload]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["sns", "bus", "sfn"]), min_size=0, max_size=12), st.integers(60, 3600))
def test_every_outcome_ends_within_the_bound_whatever_the_doors_refuse(refusals: list[str], period: int) -> None:
    # Given doors that refuse transiently in an arbitrary order, sweeps `period` seconds apart
    clock, store, sns, bus = FakeClock(), FakeStore(), FakeNotifier(), FakeNotifier()
    store.put_pending("r1", int(clock()) - 60, task_token="tok")
    failing = list(refusals)

    class Flaky(Denied):
        def succeed(self, token: str, output: str) -> None:
            self.finals += 1
            if failing and failing[0] == "sfn":
                failing.pop(0)
                raise CallbackUnavailable("ThrottlingException")

    sfn = Flaky()
    start = int(clock())
    for _ in range(DELIVERY_RETRY_SECONDS // period + 10):
        if failing and failing[0] in ("sns", "bus"):
            (sns if failing.pop(0) == "sns" else bus).refuse_once = {"r1"}
        _sweep(store, clock, AllDoors([sns, bus]), sfn)
        if store.items["r1"]["status"] != "PENDING":
            break
        clock.advance(period)
    # Then it finished within the bound plus a backoff and a period, each door took it exactly once
    assert store.items["r1"]["status"] == "COMPLETED"
    assert clock() - start <= DELIVERY_RETRY_SECONDS + BASE.backoff_max_seconds + period
    assert [o.request_id for o in sns.published] == ["r1"] and [o.request_id for o in bus.published] == ["r1"]
    assert store.items["r1"]["task_callback"]["result"] in ("delivered", "undelivered")


def test_the_settling_item_records_the_doors_that_took_it_and_the_finished_one_does_not() -> None:
    clock, store, sns, bus = FakeClock(), FakeStore(), FakeNotifier(), FakeNotifier()
    store.put_pending("r1", int(clock()) - 60)
    bus.refuse_once = {"r1"}
    _sweep(store, clock, AllDoors([sns, bus]), None)
    item = store.items["r1"]
    assert item["status"] == "PENDING" and item["settling"]["doors_taken"] == ["sns"]
    assert int(item["next_check_at"]) >= clock() + BASE.backoff_base_seconds  # after a backoff, not at once
    clock.advance(int(item["next_check_at"]) - clock() + 1)
    _sweep(store, clock, AllDoors([sns, bus]), None)
    assert store.items["r1"]["status"] == "COMPLETED" and "doors_taken" not in store.items["r1"]["outcome"]


def test_a_waiting_task_is_called_back_when_a_refusing_door_is_given_up() -> None:
    # Given a request with a task token, and an outcome bus refusing for good
    clock, store, sns, bus = FakeClock(), FakeStore(), FakeNotifier(), RefusingBus()

    class Sfn(Denied):
        def succeed(self, token: str, output: str) -> None:
            self.finals += 1

    sfn = Sfn()
    store.put_pending("r1", int(clock()) - 60, task_token="tok")
    # When sweeps run every 10 minutes past the bound
    for _ in range(50):
        _sweep(store, clock, AllDoors([sns, bus]), sfn)
        clock.advance(600)
    # Then the task was not called back while the bus could still take it, and was once the bus was given up
    assert sfn.finals == 1
    assert store.items["r1"]["status"] == "COMPLETED"
    assert store.items["r1"]["task_callback"] == {"result": "delivered"}


def test_a_refused_door_is_offered_again_at_most_backoff_max_seconds_later() -> None:
    # Given an outcome bus refusing for good, BACKOFF_MAX_SECONDS of 5 minutes, and a decision an hour old
    clock, store, sns, bus = FakeClock(), FakeStore(), FakeNotifier(), RefusingBus()
    store.put_pending("r1", int(clock()) - 60)
    five_minutes = replace(BASE, backoff_max_seconds=300)
    _sweep(store, clock, AllDoors([sns, bus]), None, five_minutes)
    clock.advance(3600)
    # When a sweep offers it to the bus again and is refused
    _sweep(store, clock, AllDoors([sns, bus]), None, five_minutes)
    # Then it is due again 5 minutes later, not an hour (as long as it has waited)
    assert bus.calls == 2 and int(store.items["r1"]["next_check_at"]) == int(clock()) + 300
