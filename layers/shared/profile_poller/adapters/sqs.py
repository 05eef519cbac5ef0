"""SQS adapter: keeps rejected registration records, unchanged, with the reason as a message attribute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from ..core.ports import StoreError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

REASON_ATTRIBUTE = "reason"
MAX_REASON = 1000


class SqsRejectedRecords:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue = queue_url

    def keep(self, body: str, reason: str) -> None:
        try:
            self._client.send_message(
                QueueUrl=self._queue,
                MessageBody=body or "(empty body)",  # SQS refuses an empty body; the reason says it was empty
                MessageAttributes={
                    REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:MAX_REASON] or "rejected"}
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"keeping a rejected record failed: {exc}") from exc
