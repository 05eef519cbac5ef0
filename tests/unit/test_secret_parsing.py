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


def test_workers_that_meet_an_empty_cache_together_share_one_read() -> None:
    # Given a Secrets Manager that holds the first read until eight workers are all asking for the key
    secrets, asking = FakeSecrets(json.dumps({"api_key": "k-1"})), threading.Barrier(8)
    read = secrets.get_secret_value

    def slow_read(SecretId: str) -> dict[str, Any]:
        answer = read(SecretId)
        released.wait(timeout=10)
        return answer

    released = threading.Event()
    secrets.get_secret_value = slow_read  # type: ignore[method-assign]
    keys = source(secrets, FakeClock())

    def worker() -> str:
        asking.wait(timeout=10)
        return keys.current().api_key

    # When they all ask at once, the read being slow
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(worker) for _ in range(8)]
        released.set()
        keys_seen = {f.result(timeout=10) for f in futures}
    # Then Secrets Manager was read once, and every worker got the key
    assert keys_seen == {"k-1"} and secrets.reads == 1
