"""Every claim that leaves a request pending sends its waiting task a heartbeat (issue 19, review item 3): a still
running job, a transient or unexpected error, a 429, a file copy retried later, and a request given back unasked
because the sweep stopped (an outage, a systemic failure). So a workflow's HeartbeatSeconds fires only when the
poller itself has stopped."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from profile_poller.core.ports import TransportError
from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE, PENDING


@dataclass
class Beats:
    clock: FakeClock
    beats: dict[str, list[float]] = field(default_factory=dict)
    finals: list[str] = field(default_factory=list)

    def heartbeat(self, token: str) -> None:
        self.beats.setdefault(token, []).append(self.clock())

    def succeed(self, token: str, output: str) -> None:
        self.finals.append(token)

    def fail(self, token: str, error: str, cause: str) -> None:
        self.finals.append(token)


def _sweep(clock: FakeClock, store: FakeStore, api: FakeApi, sfn: Beats, **overrides: Any) -> dict[str, object]:
    deps = SweepDeps(store, api, FakeKeys("k"), FakeArchive(), FakeNotifier(), clock, clock.sleep, random.Random(7))
    deps.tasks = sfn
    return Sweep(replace(BASE, **overrides), deps, "o", lambda: 600_000).run().as_dict()


def _world(answers: dict[str, list[Any]]) -> tuple[FakeClock, FakeStore, FakeApi, Beats]:
    clock, store, api = FakeClock(), FakeStore(), FakeApi()
    for rid, answer in answers.items():
        store.put_pending(rid, int(clock()) - 60, task_token=f"tok-{rid}")
        api.answers[rid] = answer
    return clock, store, api, Beats(clock)


def test_a_file_copy_retried_later_sends_a_heartbeat() -> None:
    clock, store, api, sfn = _world({"r1": [json_response(200, '{"file": "/f.csv", "update-count": 1}')]})
    api.files["/f.csv"] = [TransportError("download broke off: reset")]
    _sweep(clock, store, api, sfn)
    assert store.items["r1"]["status"] == "PENDING" and sfn.finals == []
    assert len(sfn.beats["tok-r1"]) >= 1  # given back by the sweep, then walked by the expiry walk


def test_an_unexpected_error_of_a_port_sends_a_heartbeat() -> None:
    clock, store, api, sfn = _world({"r1": [KeyError("surprise")]})
    _sweep(clock, store, api, sfn)
    assert store.items["r1"]["status"] == "PENDING"
    assert len(sfn.beats["tok-r1"]) >= 1  # given back by the sweep, then walked by the expiry walk


def test_still_running_transient_and_throttled_answers_send_a_heartbeat() -> None:
    clock, store, api, sfn = _world(
        {
            "a": [PENDING],
            "b": [TransportError("ReadTimeout")],
            "c": [json_response(429, "", {"Retry-After": "5"})],
        }
    )
    _sweep(clock, store, api, sfn)
    assert sorted(sfn.beats) == ["tok-a", "tok-b", "tok-c"]


def test_requests_given_back_by_an_outage_stop_send_a_heartbeat() -> None:
    # Given more requests than the outage threshold, every status call timing out, one request at a time
    answers: dict[str, list[Any]] = {f"r{i:02d}": [TransportError("ReadTimeout")] for i in range(12)}
    clock, store, api, sfn = _world(answers)
    # When a sweep stops asking for the outage
    summary = _sweep(clock, store, api, sfn, concurrency=1)
    assert summary["stopped"] is not None
    # Then each request was given back pending with a heartbeat, asked or not: those the sweep claimed, and the
    # others when the expiry walk after the systemic stop claimed them (core/expiry.py)
    assert int(summary["not_started"]) >= 1  # type: ignore[call-overload]
    assert set(sfn.beats) == {f"tok-{rid}" for rid in answers}
    assert all(store.items[rid]["status"] == "PENDING" for rid in answers)


def test_the_request_given_back_by_a_systemic_stop_sends_a_heartbeat() -> None:
    # Given an API answering 405 (a systemic failure that blames no request)
    clock, store, api, sfn = _world({"r1": [json_response(405, '{"code": 405}')]})
    # When the sweep stops on it
    summary = _sweep(clock, store, api, sfn, concurrency=1)
    assert "systemic" in str(summary["stopped"])
    # Then the request is given back pending, and its waiting task told the poller is alive
    assert store.items["r1"]["status"] == "PENDING" and "lease_owner" not in store.items["r1"]
    assert len(sfn.beats["tok-r1"]) >= 1  # given back by the sweep, then walked by the expiry walk
