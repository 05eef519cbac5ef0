"""Reading DynamoDB's refusal of a write to the requests table: was it the condition, was it this item's own
problem (ItemRejected), and, from the item returned with a failed condition (ALL_OLD), had this very write
already been applied (botocore retried it after a 500 or a reset whose first answer was lost)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from ..core.model import Outcome
from ..core.ports import ItemRejected


def conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def item_refused(exc: ClientError, request_id: str) -> ItemRejected | None:
    """A ValidationException on a write names what is wrong with this item (its size, a value): that request's
    problem. Throttling, access denied, a missing table stay StoreError (systemic)."""
    error = exc.response.get("Error", {})
    if error.get("Code") != "ValidationException":
        return None
    return ItemRejected(f"the table refused the write for {request_id[:128]}: {str(error.get('Message', ''))[:300]}")


def holds(item: Mapping[str, Any] | None, owner: str, lease_until: Decimal) -> bool:
    """The item carries exactly the lease this claim was writing."""
    item = item or {}
    held = item.get("lease_until", {}).get("N")
    return bool(item.get("lease_owner", {}).get("S") == owner and held is not None and Decimal(held) == lease_until)


def settled_as(item: Mapping[str, Any] | None, outcome: Outcome) -> bool:
    """The item already shows this outcome as its terminal state (a retried finish whose first attempt won)."""
    item = item or {}
    done = item.get("outcome", {}).get("M", {})
    return bool(
        item.get("status", {}).get("S") == outcome.status.value
        and "lease_owner" not in item
        and done.get("finished_at", {}).get("N") == str(outcome.finished_at)
    )
