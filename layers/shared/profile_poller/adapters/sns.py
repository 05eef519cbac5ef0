"""SNS adapter: publishes outcome messages in batches of up to ten."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.message import build_message
from ..core.model import Outcome
from ..core.ports import PublishError

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class SnsNotifier:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self._client = client
        self._topic = topic_arn

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        failed: set[str] = set()
        for start in range(0, len(outcomes), 10):
            chunk = outcomes[start : start + 10]
            entries: list[Any] = []
            ids: dict[str, str] = {}
            for number, outcome in enumerate(chunk):
                message = build_message(outcome)
                entry_id = f"m{number}"
                ids[entry_id] = message.event_id
                entries.append(
                    {
                        "Id": entry_id,
                        "Message": message.body,
                        "Subject": message.subject,
                        "MessageAttributes": {
                            name: {"DataType": "String", "StringValue": value}
                            for name, value in message.attributes.items()
                        },
                    }
                )
            try:
                answer = self._client.publish_batch(TopicArn=self._topic, PublishBatchRequestEntries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise PublishError(f"PublishBatch failed: {exc}") from exc
            failed.update(ids[entry["Id"]] for entry in answer.get("Failed", []))
        return failed
