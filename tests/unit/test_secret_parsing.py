"""The API key source parses the cached secret once, not at every status call, and a new value at once."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest

from profile_poller.adapters.secrets import SecretKeySource
from profile_poller.core.ports import CredentialsError
from tests.fakes import FakeClock


class FakeSecrets:
    """Secrets Manager's GetSecretValue as the key source calls it."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        self.reads += 1
        return {"SecretString": self.value}


def source(secrets: FakeSecrets, clock: FakeClock) -> SecretKeySource:
    return SecretKeySource(cast(Any, secrets), "s", base_url_override="https://t.example", clock=clock)


def test_an_unchanged_secret_gives_the_same_credentials_without_parsing_again() -> None:
    secrets, clock = FakeSecrets(json.dumps({"api_key": "k-1"})), FakeClock()
    keys = source(secrets, clock)
    first = keys.current()
    assert keys.current() is first  # the parsed value, not a new parse of the same text
    clock.advance(301)  # read again after the cache's 300 s: the same text, still not parsed again
    assert keys.current() is first and secrets.reads == 2
    assert first.api_key == "k-1" and first.base_url == "https://t.example"


def test_a_rotated_secret_is_parsed_when_it_is_read_again() -> None:
    secrets = FakeSecrets(json.dumps({"api_key": "k-1"}))
    keys = source(secrets, FakeClock())
    first = keys.current()
    secrets.value = json.dumps({"api_key": "k-2"})
    assert keys.current() is first  # still the cached value
    assert keys.refresh(first).api_key == "k-2"
    assert keys.current().api_key == "k-2"


def test_a_bad_secret_is_refused_at_every_read_and_never_cached() -> None:
    secrets = FakeSecrets("two words")
    keys = source(secrets, FakeClock())
    for _ in range(2):
        with pytest.raises(CredentialsError):
            keys.current()
    secrets.value = "k-3"
    with pytest.raises(CredentialsError):
        keys.current()  # the bad value is still the cached one
    assert keys.refresh(cast(Any, None)).api_key == "k-3"


class WatchedLock:
    """The key source's lock, saying when a second thread has to wait for it."""

    def __init__(self, waiting: threading.Event) -> None:
        self._lock = threading.Lock()
        self._waiting = waiting

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            self._waiting.set()
            self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_workers_that_meet_an_empty_cache_together_share_one_read() -> None:
    # Given a Secrets Manager whose first read is held until a second worker is provably asking too: waiting
    # for the first read to finish, or (were the reads not one at a time) reading the secret itself
    secrets = FakeSecrets(json.dumps({"api_key": "k-1"}))
    read = secrets.get_secret_value
    reading, second_asking = threading.Event(), threading.Event()

    def held_read(SecretId: str) -> dict[str, Any]:
        answer = read(SecretId)
        if secrets.reads == 1:
            reading.set()
            assert second_asking.wait(timeout=10), "the second worker never asked"
        else:
            second_asking.set()
        return answer

    secrets.get_secret_value = held_read  # type: ignore[method-assign]
    keys = source(secrets, FakeClock())
    keys._lock = WatchedLock(second_asking)  # type: ignore[assignment]
    # When a first worker meets the empty cache, and a second asks while the first read is under way
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(lambda: keys.current().api_key)
        assert reading.wait(timeout=10)
        second = pool.submit(lambda: keys.current().api_key)
        seen = {first.result(timeout=10), second.result(timeout=10)}
    # Then Secrets Manager was read once, and both workers got the key
    assert seen == {"k-1"} and secrets.reads == 1
