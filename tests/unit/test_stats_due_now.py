"""`profile-poller stats` "due now" counts every due pending request, those asked before too: their
next_check_at carries the attempt count in its fraction (a Decimal from DynamoDB) (issue 17, item 13)."""

from __future__ import annotations

from decimal import Decimal

from profile_poller.core.operations import Stats
from profile_poller.core.schedule import check_at


def test_requests_asked_before_are_due_now_when_their_next_check_has_passed() -> None:
    stats = Stats(now=10_000)
    stats.add({"request_id": "fresh", "status": "PENDING", "due_shard": "0", "next_check_at": 0, "submitted_at": 1})
    stats.add({"request_id": "asked", "status": "PENDING", "due_shard": "0", "next_check_at": check_at(9_000, 3)})
    stats.add({"request_id": "float", "status": "PENDING", "due_shard": "0", "next_check_at": 9_999.0002})
    stats.add({"request_id": "later", "status": "PENDING", "due_shard": "0", "next_check_at": check_at(10_001, 2)})
    stats.add({"request_id": "odd", "status": "PENDING", "due_shard": "0", "next_check_at": Decimal("NaN")})
    stats.add({"request_id": "text", "status": "PENDING", "due_shard": "0", "next_check_at": "5"})
    assert stats.as_dict()["due_now"] == 3
