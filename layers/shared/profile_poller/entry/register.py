"""The registration function's entry side: the runtime (adapters wired to core.registration) and the SQS batch
handler with partial-batch failure reporting. functions/register/app.py only exposes `lambda_handler`."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ..adapters.registrations import DynamoRegistrationStore
from ..adapters.sqs import SqsRejectedRecords
from ..adapters.stepfunctions import StepFunctionsCallbacks
from ..core.ports import StoreError, TaskCallbacks
from ..core.registration import RegistrationStore, RejectedRecords, Result, TokenStore, register
from .aws import AwsPolicy
from .config import ConfigError, RegisterSettings, load_register_settings
from .observability import capture_lambda_handler, logger, metrics, record_registrations, record_systemic_failure


@dataclass
class RegisterRuntime:
    settings: RegisterSettings
    store: RegistrationStore
    rejected: RejectedRecords
    clock: Callable[[], float] = time.time
    tokens: TokenStore | None = None  # a duplicate with a task token: the token is kept or called back at once
    tasks: TaskCallbacks | None = None

    @classmethod
    def build(cls, settings: RegisterSettings, clock: Callable[[], float] = time.time) -> RegisterRuntime:
        aws = AwsPolicy()
        session = boto3.session.Session()
        store = DynamoRegistrationStore(aws.client(session, "dynamodb", 2), settings.table_name)
        return cls(
            settings,
            store,
            SqsRejectedRecords(aws.client(session, "sqs", 2), settings.rejected_queue_url),
            clock,
            tokens=store,
            tasks=StepFunctionsCallbacks(aws.client(session, "stepfunctions", 2)),
        )


_runtime: RegisterRuntime | None = None
_counts: Counter[str] = Counter()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def use_runtime(runtime: RegisterRuntime | None) -> None:
    """For local tools and tests: the next invocations use this runtime (None: build from the environment)."""
    global _runtime
    _runtime = runtime


def _record(record: SQSRecord) -> str:
    assert _runtime is not None
    try:
        result, detail = register(
            record.body,
            _runtime.store,
            _runtime.rejected,
            int(_runtime.clock()),
            _runtime.settings.due_shards,
            tokens=_runtime.tokens,
            tasks=_runtime.tasks,
        )
    except StoreError as exc:  # transient: reported as a batch item failure, SQS delivers the record again
        _counts["deferred"] += 1
        logger.warning("registration deferred", extra={"message_id": record.message_id, "reason": str(exc)})
        raise
    _counts[result.value] += 1
    if result is Result.REJECTED:
        logger.error(
            "registration rejected; kept in the rejected-records queue",
            extra={"message_id": record.message_id, "reason": detail},
        )
    else:
        logger.info(f"request {result.value}", extra={"request_id": detail, "message_id": record.message_id})
    return result.value


@logger.inject_lambda_context(clear_state=True)
@capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _runtime
    records = event.get("Records") if isinstance(event, dict) else None
    try:
        if _runtime is None:
            _runtime = RegisterRuntime.build(load_register_settings())
    except ConfigError as exc:  # nothing is lost: every record goes back to the queue until the settings are fixed
        logger.error("invalid configuration; no registration", extra={"reason": str(exc)})
        record_systemic_failure()
        return {"batchItemFailures": [{"itemIdentifier": r.get("messageId", "")} for r in records or []]}
    _counts.clear()
    try:
        return dict(process_partial_response(event=event, record_handler=_record, processor=processor, context=context))
    finally:
        record_registrations(_counts)
