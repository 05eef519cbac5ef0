"""The terminal write of a decided outcome (core/outcomes.py): a called-back request keeps its TTL and its callback
record even when the table refuses the full outcome; a terminal write failing for one request costs the rest of the
batch nothing; and a crash between the writes of an outcome offered again leaves it due after the backoff, never
lost. Sweeps in the in-memory world with a fake Step Functions."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from profile_poller.core.doors import AllDoors
from profile_poller.core.model import Outcome
from profile_poller.core.ports import ItemRejected, Notifier, StoreError
from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE
from tests.unit.test_waiting_workflows import TOKEN, FakeStepFunctions

RETENTION = BASE.retention_days * 86_400
COMPLETED = '{"update-count": 5}'
FAILED = '{"code": 3005, "description": "Invalid Profile ID"}'


def sweep(store: FakeStore, clock: FakeClock, answers: dict[str, str], notifier: Notifier, sfn: Any) -> dict[str, Any]:
    api = FakeApi({rid: [json_response(200, body)] for rid, body in answers.items()})
    deps = SweepDeps(
        store, api, FakeKeys("k"), FakeArchive(), notifier, clock, clock.sleep, random.Random(7), tasks=sfn
    )
    return Sweep(BASE, deps, "owner-1", lambda: 600_000).run().as_dict()


class RefusesTheFullOutcome(FakeStore):
    """DynamoDB refusing a terminal item over 400 KB: any outcome that still carries its error details."""

    def finish(self, outcome: Outcome, owner: str, expires_at: int) -> None:
        if outcome.api_description is not None:
            raise ItemRejected("Item size has exceeded the maximum allowed size")
        super().finish(outcome, owner, expires_at)


class FirstFinishFails(FakeStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error
        self.failed: list[str] = []

    def finish(self, outcome: Outcome, owner: str, expires_at: int) -> None:
        if not self.failed:
            self.failed.append(outcome.request_id)
            raise self.error
        super().finish(outcome, owner, expires_at)


class ReleaseFails(FakeStore):
    def release(self, request_id: str, owner: str, next_check_at: Decimal, attempts: int) -> None:
        raise StoreError("the table stopped answering (the sweep died here)")


class RefusesOnce(FakeNotifier):
    """An outcome bus refusing every entry of its first call."""

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        if self.calls == 0:
            self.calls += 1
            return {o.event_id for o in outcomes}
        return super().publish(outcomes)


def test_a_called_back_request_keeps_its_retention_time() -> None:
    clock, store, sfn = FakeClock(), FakeStore(), FakeStepFunctions()
    store.put_pending("r1", int(clock()), task_token=TOKEN)
    sweep(store, clock, {"r1": COMPLETED}, FakeNotifier(), sfn)
    item = store.items["r1"]
    assert item["status"] == "COMPLETED" and item["task_callback"] == {"result": "delivered"}
    assert item["expires_at"] == item["finished_at"] + RETENTION


def test_a_called_back_outcome_the_table_refuses_whole_is_stored_without_details_and_keeps_its_callback() -> None:
    # Given a request with a waiting task, and a table refusing its terminal item while it holds the error details
    clock, store, sfn = FakeClock(), RefusesTheFullOutcome(), FakeStepFunctions()
    store.put_pending("r1", int(clock()), task_token=TOKEN)
    # When the API answers that the request failed
    summary = sweep(store, clock, {"r1": FAILED}, FakeNotifier(), sfn)
    # Then the waiting task was failed with its own token, and the request finished all the same
    [(name, token, _)] = sfn.finals()
    assert (name, token) == ("failure", TOKEN)
    item = store.items["r1"]
    assert item["status"] == "FAILED" and summary["failed"] == 1 and summary["errors"] == 0
    # without the details, saying why (the table's own words), with the callback record and the retention time
    assert item["outcome"].get("api_description") is None
    assert "error details dropped (Item size has exceeded the maximum allowed size)" in item["outcome"]["reason"]
    assert item["task_callback"] == {"result": "delivered"} and "task_token" not in item
    assert item["expires_at"] == item["finished_at"] + RETENTION


@pytest.mark.parametrize(
    "error",
    [StoreError("ProvisionedThroughputExceededException"), KeyError("Attributes")],  # the table, a client surprise
    ids=["store-error", "unexpected"],
)
def test_a_terminal_write_failing_for_one_request_costs_the_rest_of_the_batch_nothing(error: Exception) -> None:
    # Given three requests answered at once, and a table failing the first terminal write it gets
    clock, store = FakeClock(), FirstFinishFails(error)
    for rid in ("r1", "r2", "r3"):
        store.put_pending(rid, int(clock()))
    # When they settle in one batch
    summary = sweep(store, clock, dict.fromkeys(("r1", "r2", "r3"), COMPLETED), FakeNotifier(), None)
    # Then that one is counted as an error and stays pending (settled again when its lease ends); the others finished
    [failed] = store.failed
    assert summary["errors"] == 1 and summary["completed"] == 2
    assert {rid: item["status"] for rid, item in store.items.items()} == {
        rid: "PENDING" if rid == failed else "COMPLETED" for rid in ("r1", "r2", "r3")
    }


def test_a_door_refusing_tells_the_waiting_task_the_request_is_alive() -> None:
    clock, store, sfn = FakeClock(), FakeStore(), FakeStepFunctions()
    store.put_pending("r1", int(clock()), task_token=TOKEN)
    sweep(store, clock, {"r1": COMPLETED}, AllDoors([FakeNotifier(), RefusesOnce()]), sfn)
    assert store.items["r1"]["status"] == "PENDING"
    assert sfn.calls == [("heartbeat", TOKEN, {})]


def test_a_sweep_dying_between_the_writes_of_an_outcome_offered_again_leaves_it_due_after_the_backoff() -> None:
    # Given an outcome SNS takes and the bus refuses, and a table that fails when the request is given back
    clock, store = FakeClock(), ReleaseFails()
    store.put_pending("r1", int(clock()))
    sweep(store, clock, {"r1": COMPLETED}, AllDoors([FakeNotifier(), RefusesOnce()]), None)
    # Then the item records the door that took it and is held until the backoff ends: due again then, not before
    item = store.items["r1"]
    assert item["status"] == "PENDING" and item["settling"]["doors_taken"] == ["sns"]
    assert item["next_check_at"] == item["lease_until"]
    assert clock() + BASE.backoff_base_seconds <= item["next_check_at"] < clock() + BASE.backoff_base_seconds + 2
