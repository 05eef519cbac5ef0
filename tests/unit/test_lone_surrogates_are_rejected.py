"""A `correlation` holding a lone surrogate (an emoji cut in half) goes to the rejected-records queue with its
reason, not to the DLQ through an exception (issue 17, item 11)."""

from __future__ import annotations

import json

from profile_poller.core.registration import Result, register


class Kept:
    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []
        self.items: list[object] = []

    def keep(self, body: str, reason: str) -> None:
        self.records.append((body, reason))

    def put_new(self, item: object) -> bool:
        self.items.append(item)
        return True


def test_a_value_with_half_an_emoji_is_rejected_with_its_reason() -> None:
    kept = Kept()
    body = json.dumps({"request_id": "r1", "kind": "get", "correlation": {"order": "caf\ud83d"}})
    result, reason = register(body, kept, kept, now=1_800_000_000)
    assert result is Result.REJECTED and kept.items == []
    assert kept.records == [(body, reason)] and "lone surrogate" in reason and "'order'" in reason


def test_a_key_with_half_an_emoji_is_rejected_too() -> None:
    kept = Kept()
    body = json.dumps({"request_id": "r1", "kind": "get", "correlation": {"\udc00k": "v"}})
    result, reason = register(body, kept, kept, now=1_800_000_000)
    assert result is Result.REJECTED and "lone surrogate" in reason


def test_a_whole_emoji_is_registered() -> None:
    kept = Kept()
    body = json.dumps({"request_id": "r1", "kind": "get", "correlation": {"order": "caf\U0001f600"}})
    assert register(body, kept, kept, now=1_800_000_000)[0] is Result.REGISTERED
