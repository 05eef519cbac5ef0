"""The in-memory world the sweep tests run in (FakeStore, FakeApi, FakeClock, ...), its default settings and
the `world` fixture: import them from here (tests/unit/test_sweep_*.py, test_archive_agrees.py)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from typing import Any

import pytest

from profile_poller.core.ports import SftpSource
from profile_poller.core.sweep import Sweep, SweepDeps
from profile_poller.entry.config import Settings
from tests.fakes import FakeApi, FakeArchive, FakeClock, FakeKeys, FakeNotifier, FakeStore, json_response

PENDING = json_response(200, '{"code": "1010", "description": "The request was not processed."}')
BASE = Settings(
    table_name="t",
    bucket_name="b",
    topic_arn="arn:topic",
    secret_id="s",
    concurrency=4,
    rate_limit_per_second=1000,
    archive_prefix="p",
)
ERRORS = b'Code, Description, Index\r\n3005, "Invalid Profile ID", 1\r\n7031, "say \\"hi\\"", 2\r\n'


@dataclass
class World:
    clock: FakeClock
    store: FakeStore
    api: FakeApi
    keys: FakeKeys
    archive: FakeArchive
    notifier: FakeNotifier
    settings: Settings = BASE
    remaining_ms: int = 600_000
    sftp: SftpSource | None = None

    def sweep(self, owner: str = "owner-1", **overrides: Any) -> dict[str, Any]:
        settings = replace(self.settings, **overrides)
        deps = SweepDeps(
            self.store,
            self.api,
            self.keys,
            self.archive,
            self.notifier,
            self.clock,
            self.clock.sleep,
            random.Random(7),
            sftp=self.sftp,
        )
        return Sweep(settings, deps, owner, lambda: self.remaining_ms).run().as_dict()

    def register(self, *ids: str, age: int = 0, **extra: Any) -> None:
        for rid in ids:
            self.store.put_pending(rid, int(self.clock()) - age, **extra)

    def others_answer(self, tag: str = "a") -> None:
        """Two requests that sort before the others and complete when asked: a request asked after them in a sweep
        with concurrency=1 fails while others get answers, so its transient failure is charged (core/outage.py)."""
        for rid in (f"{tag}-1", f"{tag}-2"):
            self.register(rid)
            self.api.answers[rid] = [json_response(200, '{"update-count": 1}')]

    def until_due(self, rid: str) -> None:
        """Move the clock to the first second at which the request is due again."""
        self.clock.advance(math.ceil(self.store.items[rid]["next_check_at"]) - self.clock())

    def status(self, rid: str) -> str:
        return str(self.store.items[rid]["status"])

    def published(self, rid: str) -> list[Any]:
        return [o for o in self.notifier.published if o.request_id == rid]


@pytest.fixture
def world() -> World:
    return World(FakeClock(), FakeStore(), FakeApi(), FakeKeys("key-1"), FakeArchive(), FakeNotifier())
