"""EventBridge adapter (issue 19): each outcome as one event on the stack's outcome bus, with PutEvents.

source `profile-poller`, detail-type `Profile Request Finished`, detail = the SNS message body exactly (same
event_id). Up to ten entries and 256 KiB a call; an entry refused on its own (FailedEntryCount) fails only its
outcome, which stays pending and is published again by a later sweep, like an SNS entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.log import logger
from ..core.model import Outcome
from .batches import packed

SOURCE = "profile-poller"
DETAIL_TYPE = "Profile Request Finished"


def _entry(outcome: Outcome, bus: str) -> tuple[dict[str, Any], int]:
    from ..core.message import build_message  # noqa: PLC0415 - lazy: a sweep of pending checks publishes nothing

    body = build_message(outcome).body
    entry = {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": body, "EventBusName": bus}
    return entry, 14 + len(SOURCE) + len(DETAIL_TYPE) + len(body.encode())


class EventBridgeNotifier:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus = bus_name

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        """Put one event per outcome; return the event_ids that failed (built, sized or put)."""
        failed: set[str] = set()
        for batch in packed(outcomes, lambda _, outcome: _entry(outcome, self._bus), failed, "event"):
            try:
                answer = self._client.put_events(Entries=[entry for entry, _ in batch])
            except (ClientError, BotoCoreError) as exc:
                logger.error("PutEvents failed; its requests stay pending", extra={"reason": str(exc)[:500]})
                failed.update(event_id for _, event_id in batch)
                continue
            # results are in the order of the entries; a failed one has an ErrorCode instead of an EventId
            for (_, event_id), result in zip(batch, answer.get("Entries", []), strict=False):
                if result.get("ErrorCode") or not result.get("EventId"):
                    logger.error(
                        "EventBridge refused an event; its request stays pending",
                        extra={"event_id": event_id[:140], "reason": str(result.get("ErrorCode", ""))[:100]},
                    )
                    failed.add(event_id)
            if len(answer.get("Entries", [])) < len(batch):  # fewer results than entries: the rest are unknown
                failed.update(event_id for _, event_id in batch[len(answer.get("Entries", [])) :])
        return failed
