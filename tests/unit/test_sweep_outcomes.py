"""The sweep with in-memory fakes, continued: what the summary counts, how waits are chosen, and what the
published outcome holds for each kind of finished answer."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from profile_poller.core.budget import api_call_bound
from profile_poller.core.counters import COUNTERS
from profile_poller.core.schedule import check_at
from tests.fakes import FakeFile, FakeKeys, json_response
from tests.unit import sweep_world
from tests.unit.sweep_world import BASE, PENDING, World

world = sweep_world.world  # the same fixture
UPDATED = json_response(200, '{"update-count": 5}')
ZERO_COUNTS: dict[str, object] = dict.fromkeys(COUNTERS, 0)


def stops(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, getattr(r, "reason", "")) for r in caplog.records if r.getMessage() == "sweep stops asking"]


def test_the_summary_counts_each_way_a_request_went(world: World) -> None:
    # Given one request of each kind (ages differ: the oldest is reported)
    world.register("pending", age=100)
    world.register("done", age=50)
    world.register("bad", age=10)
    world.register("flaky", age=5)
    world.register("old", age=BASE.max_age_seconds + 7)
    world.api.answers.update(
        pending=[PENDING],
        done=[json_response(200, '{"file": "/f.csv"}')],
        bad=[json_response(200, '{"code": 3005}')],
        flaky=[json_response(502, "<html/>")],
    )
    world.api.files["/f.csv"] = [FakeFile(b"abcdef")]
    # When a sweep runs, Then every counter says what happened, and nothing else is counted
    assert world.sweep() == {
        **ZERO_COUNTS,
        "due_seen": 5,
        "claimed": 5,
        "still_pending": 2,  # the old one answered "still processing" too, then expired
        "completed": 1,
        "failed": 1,
        "transient_errors": 1,
        "expired": 1,
        "bytes_archived": 6,
        "files_archived": 1,
        "oldest_pending_age_seconds": BASE.max_age_seconds + 7,
        "stopped": None,
        "asking_rate_per_second": BASE.rate_limit_per_second,  # no 429: the configured rate
    }


def test_every_shard_is_read(world: World) -> None:
    for shard in range(3):
        world.register(f"r{shard}", due_shard=str(shard))
        world.api.answers[f"r{shard}"] = [UPDATED]
    summary = world.sweep(due_shards=3)
    assert summary["completed"] == 3 and {rid for rid, _ in world.api.asked} == {"r0", "r1", "r2"}


def test_a_retry_after_date_is_read_against_the_injected_clock(world: World) -> None:
    world.register("r1")
    when = formatdate(world.clock() + 120, usegmt=True)
    world.api.answers["r1"] = [json_response(429, '{"code": 429}', {"Retry-After": when})]
    world.sweep()
    assert int(world.store.items["r1"]["next_check_at"]) == int(world.clock()) + 120


def test_a_throttle_without_retry_after_backs_off_and_keeps_the_error_streak(world: World) -> None:
    world.register("r1", attempts=2, transient_errors=3, next_check_at=check_at(0, 2))  # 2 attempts behind it
    world.api.answers["r1"] = [json_response(429, "")]
    summary = world.sweep()
    item = world.store.items["r1"]
    assert summary["throttled"] == 1 and summary["stopped"] is None  # a 429 slows the sweep, no longer stops it
    now = int(world.clock())
    assert now + 1 <= item["next_check_at"] <= now + BASE.backoff_base_seconds * 4 + 1
    assert (item["transient_errors"], item["attempts"], item["last_error"]) == (3, 3, "throttled (429)")


def test_a_failed_request_says_which_code_and_counts_the_attempt(world: World) -> None:
    world.register("r1", attempts=4, next_check_at=check_at(0, 4))  # the count rides in next_check_at
    world.api.answers["r1"] = [json_response(400, '{"code": "7031", "description": "Profile Id and name"}')]
    world.sweep()
    [outcome] = world.published("r1")
    assert (outcome.reason, outcome.api_code, outcome.api_description) == (
        "the API answered code 7031",
        "7031",
        "Profile Id and name",
    )
    assert outcome.attempts == 5


def test_files_are_fetched_with_the_key_that_was_accepted(world: World) -> None:
    world.keys = FakeKeys("old", "new")
    world.api.valid_keys = {"new"}
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"file": "/f.csv"}')]
    world.api.files["/f.csv"] = [FakeFile(b"data")]
    world.sweep()
    assert world.api.downloads == [("/f.csv", "new")]


def test_an_update_with_both_warnings_reports_both_and_keeps_its_date(world: World) -> None:
    world.register("r1", age=3 * 86400, kind="update")  # submitted on 2027-01-12
    broken = b'Code,Description,Index\r\n3005,"never closed,1\r\n'
    world.api.answers["r1"] = [json_response(200, '{"error-file": "/e.csv", "update-count": -1}')]
    world.api.files["/e.csv"] = [FakeFile(broken)]
    world.sweep()
    [outcome] = world.published("r1")
    assert outcome.reason == (
        "update-count '-1' is not a non-negative whole number; "
        "inconsistent quoting: the file ends inside a quoted field opened on line 2"
    )
    assert outcome.error_count is None and outcome.update_count is None
    [stored] = outcome.files
    assert "/2027/01/12/r1/" in stored.s3_uri
    key = stored.s3_uri.removeprefix("s3://archive/")
    assert world.archive.metadata[key] == {
        "request-id": "r1",
        "role": "error-file",
        "source": "/e.csv",
        "sha256": stored.sha256,
        "bytes": str(len(broken)),
    }


@pytest.mark.parametrize(
    ("answer", "kind", "error_count"),
    [
        ('{"update-count": 3}', "update", 0),
        ('{"error-file": "/e.csv"}', "update", 1),
        ('{"file": "/f.json", "error-file": "/e.csv"}', "update", 1),
        ('{"file": "/f.json"}', "get", None),
    ],
)
def test_the_kind_is_inferred_from_the_answer_when_the_producer_left_it_out(
    world: World, answer: str, kind: str, error_count: int | None
) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, answer)]
    world.api.files["/e.csv"] = [FakeFile(b'Code,Description,Index\r\n3005,"x",1\r\n')]
    world.api.files["/f.json"] = [FakeFile(b'[{"id": 1}]')]
    world.sweep()
    [outcome] = world.published("r1")
    assert (outcome.kind.value, outcome.error_count, outcome.reason) == (kind, error_count, None)
    assert sorted((f.role, f.source) for f in outcome.files) == sorted(
        (role, path) for role, path in (("error-file", "/e.csv"), ("file", "/f.json")) if path[1:] in answer
    )


def test_idle_time_does_not_build_up_a_burst(world: World) -> None:
    # Given 11 requests at 2 calls a second, and an API that takes 100 s to answer the first one
    world.register(*[f"r{i:02d}" for i in range(11)])

    def slow_first(rid: str) -> None:
        if rid == "r00":
            world.clock.advance(100)

    world.api.before_query = slow_first
    # When they are asked one after the other
    world.sweep(rate_limit_per_second=2, concurrency=1)
    # Then the 100 idle seconds bought one call, not 200: the other nine still wait 0.5 s each
    assert len(world.api.asked) == 11
    assert world.clock.slept == pytest.approx(4.5, abs=0.01)


def test_backoff_grows_with_the_attempts_across_sweeps(world: World) -> None:
    # Given 40 requests the API never finishes
    world.register(*[f"r{i:02d}" for i in range(40)])
    ceilings = []
    for _ in range(6):
        # When a sweep asks them all (each sweep an hour after the last; nothing expires in six hours)
        start = int(world.clock())
        world.sweep()
        delays = [item["next_check_at"] - start for item in world.store.items.values()]
        ceilings.append(max(delays))
        world.clock.advance(3600)
    # Then the wait drawn after the first answer stays within the base (30 s), and after the sixth one
    # (five attempts behind it: up to 30 * 2**5 = 960 s) reaches well past anything a fresh request gets
    assert ceilings[0] <= BASE.backoff_base_seconds + 1
    assert ceilings[5] > 4 * BASE.backoff_base_seconds
    assert all(item["attempts"] == 6 for item in world.store.items.values())


def test_retry_after_zero_asks_again_in_the_next_second_not_this_sweep(world: World) -> None:
    world.register("r1")
    world.api.answers["r1"] = [json_response(429, "", {"Retry-After": "0"})]
    world.sweep()
    assert int(world.store.items["r1"]["next_check_at"]) == int(world.clock()) + 1


def test_a_request_expires_exactly_at_max_age_and_says_so(world: World) -> None:
    world.register("at-limit", age=BASE.max_age_seconds)
    world.register("just-under", age=BASE.max_age_seconds - 1)
    world.sweep()
    assert world.status("at-limit") == "EXPIRED" and world.status("just-under") == "PENDING"
    [outcome] = world.published("at-limit")
    assert outcome.reason == f"no final answer within MAX_AGE_SECONDS={BASE.max_age_seconds}"


def test_exactly_the_time_margin_and_the_work_in_flight_left_is_still_enough(world: World) -> None:
    # the work in flight: one status call's bound, and twelve AWS calls at the slowest seen (none yet here)
    world.register("r1")
    world.remaining_ms = int((BASE.time_margin_seconds + api_call_bound(BASE)) * 1000)
    summary = world.sweep()
    assert summary["claimed"] == 1 and summary["stopped"] is None
