"""Items written by hand or by another producer are read leniently: missing or odd values fall back to defaults."""

from __future__ import annotations

from decimal import Decimal

from profile_poller.core.items import PendingRequest
from profile_poller.core.model import Kind


def test_hand_written_items_are_read_leniently() -> None:
    item = {
        "request_id": "r1",
        "kind": "UPDATE",
        "submitted_at": "123",
        "attempts": Decimal(4),
        "transient_errors": "lots",
    }
    request = PendingRequest.from_item(item, now=999)
    assert (request.kind, request.submitted_at, request.attempts, request.transient_errors) == (Kind.UPDATE, 123, 4, 0)
    assert PendingRequest.from_item({"request_id": "r2", "kind": "other"}, now=999).kind is Kind.UNKNOWN
    assert PendingRequest.from_item({"request_id": "r3"}, now=999).submitted_at == 999


def test_odd_numbers_on_an_item_fall_back_to_defaults() -> None:
    item = {
        "request_id": "r1",
        "attempts": Decimal("NaN"),
        "transient_errors": Decimal("Infinity"),
        "submitted_at": True,
    }
    request = PendingRequest.from_item(item, now=999)
    assert (request.attempts, request.transient_errors, request.submitted_at) == (0, 0, 999)
    assert PendingRequest.from_item({"request_id": "r1", "attempts": -3, "submitted_at": 5.9}, now=1).attempts == 0
    assert PendingRequest.from_item({"request_id": "r1", "submitted_at": 5.9}, now=1).submitted_at == 5
