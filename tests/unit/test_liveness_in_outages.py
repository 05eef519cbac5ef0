"""Liveness when the sweep cannot ask (review item 4), as properties of the sweep with an injected clock.

Whatever the backlog, the cadence and the concurrency, when the API fails every call from some moment on (an
outage longer than MAX_AGE_SECONDS) or the API key cannot be read from some moment on (a deleted secret, a disabled
KMS key), for good:

- every request reaches a terminal state by its MAX_AGE_SECONDS plus one schedule period;
- it is announced with exactly one outcome;
- none ends FAILED (an outage is not a failure, an unreadable key is the stack's problem, not the request's).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profile_poller.core.classify import ApiResponse
from profile_poller.core.ports import Credentials, CredentialsError, TransportError
from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response
from tests.unit.sweep_world import BASE

MAX_AGE = 3600
START = 1_800_000_000
SETTINGS = replace(BASE, max_age_seconds=MAX_AGE, backoff_base_seconds=60, backoff_max_seconds=600, lease_seconds=600)
PROPERTY = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PENDING = json_response(200, '{"code": "1010"}')
DONE = json_response(200, '{"update-count": 1}')


@dataclass
class DownApi(FakeApi):
    """Every status call times out, resets or answers 5xx once `down` is set."""

    down: bool = False
    failures: list[Exception | ApiResponse] = field(default_factory=list)
    _n: int = 0

    def query(self, request_id: str, credentials: Credentials) -> ApiResponse:
        if self.down:
            with self.lock:
                self.asked.append((request_id, credentials.api_key))
                failure = self.failures[self._n % len(self.failures)]
                self._n += 1
            if isinstance(failure, Exception):
                raise failure
            return failure
        return super().query(request_id, credentials)


class LostKeys(FakeKeys):
    """The secret becomes unreadable when `broken` is set (FakeKeys), and a forced re-read fails as well."""

    def refresh(self, rejected: Credentials) -> Credentials:
        if self.broken:
            raise CredentialsError("SECRET_ID could not be read (AccessDeniedException)")
        return super().refresh(rejected)


@dataclass(frozen=True)
class Scenario:
    backlog: int
    ages: list[int]  # how old each request is when the run starts (its MAX_AGE runs out at MAX_AGE - age)
    finishing: list[bool]  # which requests the API answers as finished while it is up
    period: int  # seconds between sweeps
    concurrency: int
    breaks_at: int  # when the API (or the key) goes away, in seconds from the start
    seed: int


def scenarios() -> st.SearchStrategy[Scenario]:
    @st.composite
    def build(draw: st.DrawFn) -> Scenario:
        backlog = draw(st.integers(1, 60))
        return Scenario(
            backlog=backlog,
            ages=draw(st.lists(st.integers(0, MAX_AGE + 600), min_size=backlog, max_size=backlog)),
            finishing=draw(st.lists(st.booleans(), min_size=backlog, max_size=backlog)),
            period=draw(st.sampled_from([60, 120, 300, 600])),
            concurrency=draw(st.integers(1, 4)),
            breaks_at=draw(st.integers(0, MAX_AGE)),
            seed=draw(st.integers(0, 99)),
        )

    return build()


FAILURES = st.lists(
    st.sampled_from(
        [
            TransportError("ReadTimeout"),
            TransportError("connection reset"),
            json_response(500, "<html>oops</html>"),
            json_response(503, "{}"),
        ]
    ),
    min_size=1,
    max_size=4,
)


def run(
    scenario: Scenario, api: DownApi, keys: LostKeys, breaks: str
) -> tuple[FakeStore, FakeNotifier, dict[str, int]]:
    clock, store, notifier = FakeClock(START), FakeStore(), FakeNotifier()
    start = START
    deadlines = {}
    for i, (age, finishing) in enumerate(zip(scenario.ages, scenario.finishing, strict=True)):
        rid = f"r{i:03d}"
        store.put_pending(rid, start - age)
        api.answers[rid] = [DONE if finishing else PENDING]
        deadlines[rid] = start - age + MAX_AGE
    settings_ = replace(SETTINGS, concurrency=scenario.concurrency)
    rng = random.Random(scenario.seed)
    horizon = start + MAX_AGE + 2 * scenario.period
    while clock() <= horizon:
        if clock() >= start + scenario.breaks_at:
            api.down = breaks == "api"
            keys.broken = breaks == "key"
        deps = SweepDeps(store, api, keys, FakeArchive(), notifier, clock, clock.sleep, random.Random(rng.random()))
        Sweep(settings_, deps, f"sweep-{int(clock())}", lambda: 600_000).run()
        clock.advance(scenario.period)
    return store, notifier, deadlines


def check(store: FakeStore, notifier: FakeNotifier, deadlines: dict[str, int], period: int) -> None:
    assert [rid for rid, item in store.items.items() if item["status"] == "PENDING"] == []
    assert [rid for rid, item in store.items.items() if item["status"] == "FAILED"] == []
    for rid, deadline in deadlines.items():
        announced = [o for o in notifier.published if o.request_id == rid]
        assert len({o.event_id for o in announced}) == 1, f"{rid}: {len(announced)} outcomes"
        # a request already past MAX_AGE when the run starts ends at the first sweep
        assert announced[0].finished_at <= max(deadline, START) + period, rid


@PROPERTY
@given(scenario=scenarios(), failures=FAILURES)
def test_an_outage_with_a_backlog_expires_every_request_by_max_age_plus_one_period(
    scenario: Scenario, failures: list[Exception | ApiResponse]
) -> None:
    store, notifier, deadlines = run(scenario, DownApi(failures=failures), LostKeys("key-1"), breaks="api")
    check(store, notifier, deadlines, scenario.period)


@PROPERTY
@given(scenario=scenarios())
def test_an_api_key_unreadable_for_good_expires_every_request_by_max_age_plus_one_period(scenario: Scenario) -> None:
    api = DownApi(failures=[TransportError("unused")])
    store, notifier, deadlines = run(scenario, api, LostKeys("key-1"), breaks="key")
    check(store, notifier, deadlines, scenario.period)
