"""SNS adapter: publishes outcome messages with PublishBatch, each entry built and sized on its own.

One bad outcome never fails its neighbours: a message that cannot be built, or is over the 256 KiB an SNS message
may carry, fails alone. Batches hold at most ten entries and 256 KiB in total (PublishBatch's limits).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.log import logger
from ..core.model import Outcome
from .batches import packed

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


def _entry(outcome: Outcome, entry_id: str) -> tuple[dict[str, Any], int]:
    """One PublishBatch entry and its size as SNS counts it (body, subject, attribute names, types and values)."""
    from ..core.message import build_message  # noqa: PLC0415 - lazy: a sweep of pending checks publishes nothing

    message = build_message(outcome)
    attributes = {name: {"DataType": "String", "StringValue": value} for name, value in message.attributes.items()}
    size = len(message.body.encode()) + len(message.subject.encode())
    size += sum(len(name) + len("String") + len(value.encode()) for name, value in message.attributes.items())
    entry = {"Id": entry_id, "Message": message.body, "Subject": message.subject, "MessageAttributes": attributes}
    return entry, size


class SnsNotifier:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic = topic_arn

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        """Publish one message per outcome; return the event_ids that failed (built, sized or sent)."""
        failed: set[str] = set()
        for batch in packed(outcomes, lambda number, outcome: _entry(outcome, f"m{number}"), failed, "message"):
            ids = {entry["Id"]: event_id for entry, event_id in batch}
            entries: list[Any] = [entry for entry, _ in batch]
            try:
                answer = self._client.publish_batch(TopicArn=self._topic, PublishBatchRequestEntries=entries)
            except (ClientError, BotoCoreError) as exc:
                logger.error("PublishBatch failed; its requests stay pending", extra={"reason": str(exc)[:500]})
                failed.update(ids.values())
                continue
            for entry in answer.get("Failed", []):
                logger.error(
                    "SNS refused a message; its request stays pending",
                    extra={"event_id": ids[entry["Id"]][:140], "reason": str(entry.get("Message", ""))[:300]},
                )
                failed.add(ids[entry["Id"]])
        return failed
