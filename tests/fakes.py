"""In-memory fakes of the sweep's ports, with the same conditional semantics as the real adapters."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from profile_poller.core.classify import ApiResponse
from profile_poller.core.items import outcome_map
from profile_poller.core.model import Outcome
from profile_poller.core.ports import Credentials, CredentialsError, LeaseLost, PublishError, Readable, TransportError
from profile_poller.core.schedule import AskingLease, Due


class FakeClock:
    """Time that moves only when told to; sleep() moves it (the rate limiter's waits cost nothing)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.slept += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeLeases:
    """The asking lease of FakeStore, conditional as in DynamoRequestStore."""

    def __init__(self) -> None:
        self.asking: AskingLease | None = None
        self.asking_lock = threading.Lock()

    def take_asking(self, owner: str, now: int, until: int) -> AskingLease:
        with self.asking_lock:
            held = self.asking
            if held is not None and held.owner and held.until >= now and held.owner != owner:
                return held
            base = held or AskingLease("", 0)
            self.asking = replace(base, owner=owner, until=until)
            return self.asking

    def keep_asking(self, lease: AskingLease) -> None:
        with self.asking_lock:
            if self.asking is None or self.asking.owner != lease.owner:
                raise LeaseLost("#asking")
            self.asking = lease

    def end_asking(self, lease: AskingLease) -> None:
        with self.asking_lock:
            if self.asking is None or self.asking.owner != lease.owner:
                raise LeaseLost("#asking")
            self.asking = replace(lease, owner="", until=0)


class FakeStore(FakeLeases):
    """Items keyed by request_id; claims and writes are conditional exactly as in DynamoRequestStore."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.before_claim: Callable[[str], None] | None = None  # to stage races
        self.writes = 0  # conditional writes made, failed ones included (DynamoDB charges those too)
        self.extended: list[str] = []

    def put_pending(self, request_id: str, submitted_at: int, **extra: Any) -> None:
        self.items[request_id] = {
            "request_id": request_id,
            "status": "PENDING",
            "due_shard": "0",
            "next_check_at": 0,
            "submitted_at": submitted_at,
            **extra,
        }

    def due_ids(self, shard: str, now: int) -> Iterator[Due]:
        with self.lock:
            due = sorted(
                (Decimal(str(i["next_check_at"])), rid)
                for rid, i in self.items.items()
                if i.get("due_shard") == shard and i["next_check_at"] <= now
            )
        for at, rid in due:
            yield Due(rid, at)

    def claim(self, due: Due, owner: str, now: int, next_check_at: Decimal, attempts: int) -> Mapping[str, Any] | None:
        if self.before_claim:
            self.before_claim(due.request_id)
        with self.lock:
            self.writes += 1
            item = self.items.get(due.request_id)
            if (
                item is None
                or item.get("status") != "PENDING"
                or item["next_check_at"] != due.next_check_at
                or item.get("lease_until", -1) >= now
            ):
                return None
            item.update(lease_owner=owner, lease_until=next_check_at, next_check_at=next_check_at, attempts=attempts)
            item.setdefault("submitted_at", now)
            item.setdefault("first_claimed_at", now)
            return copy.deepcopy(item)

    def _owned(self, request_id: str, owner: str) -> dict[str, Any]:
        self.writes += 1
        item = self.items[request_id]
        if item.get("lease_owner") != owner:
            raise LeaseLost(request_id)
        return item

    def reschedule(
        self, request_id: str, owner: str, next_check_at: Decimal, transient_errors: int, last_error: str | None
    ) -> None:
        with self.lock:
            item = self._owned(request_id, owner)
            item.update(next_check_at=next_check_at, transient_errors=transient_errors)
            if last_error is not None:
                item["last_error"] = last_error
            item.pop("lease_owner")
            item.pop("lease_until")

    def release(self, request_id: str, owner: str, next_check_at: Decimal, attempts: int) -> None:
        with self.lock:
            item = self._owned(request_id, owner)
            item.update(next_check_at=next_check_at, attempts=attempts)
            if not attempts:  # never asked: as the producer wrote it (as DynamoRequestStore does)
                item.pop("attempts")
            item.pop("lease_owner")
            item.pop("lease_until")

    def extend(self, request_id: str, owner: str, next_check_at: Decimal) -> None:
        with self.lock:
            self._owned(request_id, owner).update(next_check_at=next_check_at, lease_until=next_check_at)
            self.extended.append(request_id)

    def decide(self, outcome: Outcome, owner: str, next_check_at: Decimal) -> None:
        with self.lock:
            item = self._owned(outcome.request_id, owner)
            item.update(settling=outcome_map(outcome), next_check_at=next_check_at, lease_until=next_check_at)

    def finish(self, outcome: Outcome, owner: str, expires_at: int) -> None:
        with self.lock:
            item = self._owned(outcome.request_id, owner)
            item.update(
                status=outcome.status.value,
                kind=outcome.kind.value,
                outcome=outcome_map(outcome),
                finished_at=outcome.finished_at,
                expires_at=expires_at,
                attempts=outcome.attempts,
            )
            for name in ("due_shard", "lease_owner", "lease_until", "settling"):
                item.pop(name, None)

    def finish_called_back(self, outcome: Outcome, owner: str, expires_at: int, callback: Mapping[str, str]) -> None:
        """issue 19: finish() that also drops the task token and keeps what became of its callback."""
        self.finish(outcome, owner, expires_at)
        with self.lock:
            item = self.items[outcome.request_id]
            item.pop("task_token", None)
            item["task_callback"] = dict(callback)


def json_response(status: int, body: bytes | str, headers: Mapping[str, str] | None = None) -> ApiResponse:
    data = body.encode() if isinstance(body, str) else body
    return ApiResponse(status, data, dict(headers or {}))


@dataclass
class FakeFile:
    data: bytes
    content_length: int | None = None
    url: str = "https://tenant.example/file"
    fail_after: int | None = None  # raise TransportError after this many bytes
    sized: bool = True  # False: the server sends no Content-Length
    _pos: int = 0

    def __post_init__(self) -> None:
        if self.content_length is None and self.sized:
            self.content_length = len(self.data)

    def read(self, size: int = -1, /) -> bytes:
        if self.fail_after is not None and self._pos >= self.fail_after:
            raise TransportError("download broke off: reset")
        end = len(self.data) if size < 0 else self._pos + size
        if self.fail_after is not None:
            end = min(end, self.fail_after)
        chunk = self.data[self._pos : end]
        self._pos += len(chunk)
        return chunk


@dataclass
class FakeApi:
    """Answers per request-id in order (the last one repeats); files by path; records what was asked."""

    answers: dict[str, list[ApiResponse | Exception]] = field(default_factory=dict)
    files: dict[str, list[FakeFile | Exception]] = field(default_factory=dict)
    asked: list[tuple[str, str]] = field(default_factory=list)
    valid_keys: set[str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    before_query: Callable[[str], None] | None = None  # e.g. to let the clock run while the API thinks
    downloads: list[tuple[str, str]] = field(default_factory=list)  # (path, key) of every file opened

    def query(self, request_id: str, credentials: Credentials) -> ApiResponse:
        if self.before_query:
            self.before_query(request_id)
        with self.lock:
            self.asked.append((request_id, credentials.api_key))
            if self.valid_keys is not None and credentials.api_key not in self.valid_keys:
                return json_response(498, '{"code": 498, "description": "Invalid token or access token expired"}')
            queue = self.answers.get(request_id) or [json_response(200, '{"code": "1010"}')]
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    @contextmanager
    def open_file(self, path: str, credentials: Credentials) -> Iterator[FakeFile]:
        with self.lock:
            self.downloads.append((path, credentials.api_key))
            queue = self.files[path]
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        yield FakeFile(answer.data, answer.content_length, path, answer.fail_after, answer.sized)


class FakeKeys:
    def __init__(self, *values: str, base_url: str = "https://tenant.example") -> None:
        self.values = list(values)
        self.base_url = base_url
        self.refreshes = 0
        self.broken = False

    def current(self) -> Credentials:
        if self.broken:
            raise CredentialsError("the secret is empty")
        return Credentials(self.values[0], self.base_url)

    def refresh(self, rejected: Credentials) -> Credentials:
        self.refreshes += 1
        if len(self.values) > 1:
            self.values.pop(0)
        return self.current()


class FakeArchive:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.metadata: dict[str, dict[str, str]] = {}

    def put(self, key: str, body: Readable, metadata: Mapping[str, str]) -> str:
        parts = []
        while chunk := body.read(7):  # small reads: exercise chunk boundaries in the parser
            parts.append(chunk)
        self.objects[key] = b"".join(parts)  # only reached when every read succeeded
        self.metadata[key] = dict(metadata)
        return f"s3://archive/{key}"

    def stamp(self, key: str, metadata: Mapping[str, str]) -> None:
        self.metadata[key] = dict(metadata)

    def discard(self, key: str) -> None:
        self.objects.pop(key, None)
        self.metadata.pop(key, None)


class FakeNotifier:
    def __init__(self) -> None:
        self.published: list[Outcome] = []
        self.calls = 0
        self.batches: list[int] = []  # the size of every publish call
        self.fail_next: int = 0
        self.refuse_once: set[str] = set()  # request ids whose entry fails once (a per-entry PublishBatch failure)

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        self.calls += 1
        self.batches.append(len(outcomes))
        if self.fail_next:
            self.fail_next -= 1
            raise PublishError("SNS unavailable")
        refused = {o.event_id for o in outcomes if o.request_id in self.refuse_once}
        self.refuse_once -= {o.request_id for o in outcomes}
        self.published.extend(o for o in outcomes if o.event_id not in refused)
        return refused
