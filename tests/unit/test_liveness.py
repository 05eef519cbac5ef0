"""Liveness by construction (issue 17), as properties of the sweep in the in-memory world with an injected clock.

Whatever a port raises for one request (the "poison": a domain error, ValueError, KeyError, UnicodeError,
OSError, a timeout) at its status calls, file downloads, archive uploads, publishing or any of its table writes,
and whatever the API answers:

- every request reaches a terminal state by MAX_AGE_SECONDS plus one schedule period (two when a table write
  fails at the last check: the lease then runs to the claim's next check, at most BACKOFF_MAX_SECONDS later);
- every request is announced with exactly one outcome (one event_id; the same message again after a lost
  terminal write is the documented at-least-once delivery, never a second, different outcome);
- the others settle at least 0.9 as fast as in the same run without the poison.

The status, download and archive faults repeat for ever (a request that always breaks the client); the publish
and table-write faults are a finite script (a table or topic that never takes this item's write can hold no
outcome at all).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import _GeneratorContextManager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profile_poller.core.classify import ApiResponse
from profile_poller.core.model import Outcome
from profile_poller.core.ports import (
    ArchiveFailed,
    Credentials,
    FileMissing,
    FileRefused,
    ItemRejected,
    LeaseLost,
    PublishError,
    Readable,
    SourceLoginRefused,
    StoreError,
    TransportError,
)
from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeFile, FakeKeys, FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE

POISON = "poison"
OTHERS = tuple(f"other-{i}" for i in range(8))
PERIOD = 120  # a sweep every two minutes
SETTINGS = replace(
    BASE,
    concurrency=2,
    max_age_seconds=3600,
    backoff_base_seconds=60,
    backoff_max_seconds=300,
    max_transient_errors=4,
    lease_seconds=300,
)
HORIZON = SETTINGS.max_age_seconds + 2 * SETTINGS.backoff_max_seconds + 3 * PERIOD

Fault = Callable[[], Exception]
ANY_RAISE: list[Fault] = [
    lambda: ValueError("unknown cipher"),
    lambda: KeyError("size"),
    lambda: UnicodeError("half an emoji"),
    lambda: OSError("connection reset by peer"),
    lambda: TimeoutError("timed out"),
    lambda: TransportError("read timeout"),
    lambda: RuntimeError("a bug"),
]
CALL_RAISE: list[Fault] = [
    *ANY_RAISE,
    lambda: FileMissing("404"),
    lambda: FileRefused("not on FILE_HOSTS"),
    lambda: SourceLoginRefused("host key changed"),
    lambda: ArchiveFailed("SlowDown"),
]
WRITE_RAISE: list[Fault] = [
    *ANY_RAISE,
    lambda: StoreError("ProvisionedThroughputExceeded"),
    lambda: LeaseLost("poison"),
    lambda: ItemRejected("item too large"),
    lambda: PublishError("SNS unavailable"),
]
ANSWERS: list[ApiResponse] = [
    json_response(200, '{"code": "1010"}'),  # still processing
    json_response(200, '{"update-count": 2}'),
    json_response(200, '{"file": "/poison.csv", "update-count": 1}'),
    json_response(200, '{"code": "5001", "description": "Invalid file"}'),
    json_response(500, "<html>oops</html>"),
    json_response(429, "{}", {"Retry-After": "86400000"}),
    json_response(403, '{"code": "430"}'),  # systemic: stops the sweep
    json_response(200, b"\xff\xfe not json"),
]


@dataclass
class Faults:
    """Which of the poison's port calls raise: `calls` cycles for ever (None: no fault), `writes` runs once."""

    calls: list[Fault | None]
    writes: list[Fault | None]
    _call: int = 0
    _write: int = 0
    active: bool = True

    def on_call(self) -> None:
        if self.active and self.calls:
            fault = self.calls[self._call % len(self.calls)]
            self._call += 1
            if fault is not None:
                raise fault()

    def on_write(self) -> None:
        if self.active and self._write < len(self.writes):
            fault = self.writes[self._write]
            self._write += 1
            if fault is not None:
                raise fault()


class PoisonStore(FakeStore):
    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults

    def _maybe(self, request_id: str) -> None:
        if request_id == POISON:
            self.faults.on_write()

    def claim(self, due: Any, owner: str, now: int, next_check_at: Decimal, attempts: int) -> Mapping[str, Any] | None:
        self._maybe(due.request_id)
        return super().claim(due, owner, now, next_check_at, attempts)

    def reschedule(self, request_id: str, owner: str, at: Decimal, errors: int, last: str | None) -> None:
        self._maybe(request_id)
        super().reschedule(request_id, owner, at, errors, last)

    def release(self, request_id: str, owner: str, next_check_at: Decimal, attempts: int) -> None:
        self._maybe(request_id)
        super().release(request_id, owner, next_check_at, attempts)

    def extend(self, request_id: str, owner: str, next_check_at: Decimal) -> None:
        self._maybe(request_id)
        super().extend(request_id, owner, next_check_at)

    def decide(self, outcome: Outcome, owner: str, next_check_at: Decimal) -> None:
        self._maybe(outcome.request_id)
        super().decide(outcome, owner, next_check_at)

    def finish(self, outcome: Outcome, owner: str, expires_at: int) -> None:
        self._maybe(outcome.request_id)
        super().finish(outcome, owner, expires_at)


@dataclass
class PoisonApi(FakeApi):
    faults: Faults = field(default_factory=lambda: Faults([], []))

    def query(self, request_id: str, credentials: Credentials) -> ApiResponse:
        if request_id == POISON:
            self.faults.on_call()
        return super().query(request_id, credentials)

    def open_file(self, path: str, credentials: Credentials) -> _GeneratorContextManager[FakeFile, None, None]:
        if path.startswith("/poison"):
            self.faults.on_call()
        return super().open_file(path, credentials)


class PoisonArchive(FakeArchive):
    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults

    def put(self, key: str, body: Readable, metadata: Mapping[str, str]) -> str:
        if f"/{POISON}/" in key:
            self.faults.on_call()
        return super().put(key, body, metadata)


class PoisonNotifier(FakeNotifier):
    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        if any(o.request_id == POISON for o in outcomes):
            self.faults.on_write()
        return super().publish(outcomes)


@dataclass
class Run:
    store: PoisonStore
    notifier: PoisonNotifier
    registered_at: float
    settled: list[int]  # after each sweep: how many of the others are terminal

    def terminal_at(self) -> Iterator[tuple[str, str]]:
        for rid, item in self.store.items.items():
            yield rid, str(item["status"])


def run(poison_answers: list[ApiResponse], other_answers: list[list[ApiResponse]], faults: Faults, seed: int) -> Run:
    clock = FakeClock()
    store, api = PoisonStore(faults), PoisonApi(faults=faults)
    archive, notifier = PoisonArchive(faults), PoisonNotifier(faults)
    api.files["/poison.csv"] = [FakeFile(b"poison,data\n")]
    api.files["/other.csv"] = [FakeFile(b"other,data\n")]
    registered_at = clock()
    store.put_pending(POISON, int(registered_at))
    api.answers[POISON] = list(poison_answers)
    for rid, answers in zip(OTHERS, other_answers, strict=True):
        store.put_pending(rid, int(registered_at))
        api.answers[rid] = list(answers)
    settled = []
    rng = random.Random(seed)
    while clock() <= registered_at + HORIZON:
        deps = SweepDeps(
            store, api, FakeKeys("key-1"), archive, notifier, clock, clock.sleep, random.Random(rng.random())
        )
        Sweep(SETTINGS, deps, f"sweep-{int(clock())}", lambda: 600_000).run()
        settled.append(sum(1 for rid in OTHERS if store.items[rid]["status"] != "PENDING"))
        clock.advance(PERIOD)
    return Run(store, notifier, registered_at, settled)


answer_lists = st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=6)
# a Retry-After pauses the whole tenant by the API's own rule, a cost of the tenant's limit and not of the poison:
# it is left out where the others' pace is compared (its termination is checked in the second property)
answer_lists_no_pause = st.lists(st.sampled_from([a for a in ANSWERS if a.status != 429]), min_size=1, max_size=6)
other_answer = st.lists(
    st.sampled_from([ANSWERS[0], ANSWERS[1], ANSWERS[0], json_response(200, '{"file": "/other.csv"}')]),
    min_size=1,
    max_size=4,
)
faults = st.builds(
    Faults,
    calls=st.lists(st.one_of(st.none(), st.sampled_from(CALL_RAISE)), max_size=8),
    writes=st.lists(st.one_of(st.none(), st.sampled_from(WRITE_RAISE)), max_size=12),
)
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_invariants(result: Run) -> None:
    # every request ends, with exactly one outcome announced
    statuses = dict(result.terminal_at())
    assert [rid for rid, status in statuses.items() if status == "PENDING"] == []
    for rid in (POISON, *OTHERS):
        announced = [o for o in result.notifier.published if o.request_id == rid]
        assert announced, f"{rid} was never announced"
        assert len({o.event_id for o in announced}) == 1 and len({o.status for o in announced}) == 1
        assert announced[0].status.value == statuses[rid]
        # by MAX_AGE_SECONDS + one period, or two plus BACKOFF_MAX_SECONDS when a table write failed at the end
        assert announced[0].finished_at <= result.registered_at + HORIZON


@PROPERTY
@given(
    poison=answer_lists_no_pause,
    others=st.lists(other_answer, min_size=8, max_size=8),
    chaos=faults,
    seed=st.integers(0, 99),
)
def test_whatever_a_port_raises_every_request_ends_once_and_the_others_keep_their_pace(
    poison: list[ApiResponse], others: list[list[ApiResponse]], chaos: Faults, seed: int
) -> None:
    poisoned = run(poison, others, chaos, seed)
    check_invariants(poisoned)
    clean = run([ANSWERS[0]], others, Faults([], [], active=False), seed)
    # the others settle at least 0.9 as fast as without the poison (summed over the sweeps of the run)
    assert sum(poisoned.settled) >= 0.9 * sum(clean.settled)


@PROPERTY
@given(poison=answer_lists, chaos=faults, seed=st.integers(0, 99))
def test_a_request_only_ever_failing_ends_by_max_age_and_is_announced_once(
    poison: list[ApiResponse], chaos: Faults, seed: int
) -> None:
    # the poison's every call raises (status calls, downloads): whatever it was answered, it must still end
    chaos.calls = [fault for fault in chaos.calls if fault is not None] or [lambda: ValueError("unknown cipher")]
    result = run(poison, [[ANSWERS[1]]] * 8, chaos, seed)
    check_invariants(result)
    limit = result.registered_at + SETTINGS.max_age_seconds + PERIOD + SETTINGS.backoff_max_seconds
    [outcome, *_] = [o for o in result.notifier.published if o.request_id == POISON]
    if not chaos.writes:  # no table write failed: the strict bound
        limit = result.registered_at + SETTINGS.max_age_seconds + PERIOD
    assert outcome.finished_at <= limit


def test_an_unexpected_error_of_the_file_source_counts_toward_the_request_and_it_ends_failed() -> None:
    # Given a finished answer whose file download always raises ValueError (paramiko's "unknown cipher")
    chaos = Faults([None, lambda: ValueError("unknown cipher")], [])  # the status call, then the download
    result = run([ANSWERS[2]], [[ANSWERS[0]]] * 8, chaos, seed=1)
    # Then the request ends FAILED after MAX_TRANSIENT_ERRORS checks, the others are untouched
    [outcome] = [o for o in result.notifier.published if o.request_id == POISON]
    assert outcome.status.value == "FAILED" and "unexpected error (ValueError)" in (outcome.reason or "")
    assert outcome.attempts == SETTINGS.max_transient_errors
