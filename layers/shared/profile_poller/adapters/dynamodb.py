"""DynamoDB adapter for the requests table (DESIGN §3): the sweep's reads and lease-guarded writes, and the
tenant's asking lease. Maps ClientError to domain errors (dynamo_conditions); the item format is dynamo_items."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..core.items import outcome_map
from ..core.log import logger
from ..core.model import Outcome, Status
from ..core.ports import LeaseLost, StoreError
from ..core.schedule import AskingLease, Due
from .dynamo_conditions import conditional_failed, holds, item_refused, settled_as
from .dynamo_items import ASKING_KEY, DUE_INDEX, from_dynamo, to_dynamo

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PAGE_SIZE = 100


_RATE_STATE = "rate = :rate, rate_at = :rate_at, paused_until = :paused"


def _rate_values(lease: AskingLease) -> dict[str, Any]:
    return {":rate": lease.rate or 0, ":rate_at": lease.rate_at, ":paused": lease.paused_until}


def _asking(item: Mapping[str, Any], owner: str) -> AskingLease:
    rate = item.get("rate")
    return AskingLease(
        owner=str(item.get("lease_owner", owner)),
        until=int(item.get("lease_until", 0)),
        rate=float(rate) if isinstance(rate, int | float) and rate > 0 else None,
        rate_at=float(item.get("rate_at", 0)),
        paused_until=float(item.get("paused_until", 0)),
    )


class DynamoRequestStore:
    def __init__(self, client: DynamoDBClient, table_name: str, page_size: int = PAGE_SIZE) -> None:
        self._client = client
        self._table = table_name
        self._page_size = page_size

    def due_ids(self, shard: str, now: int) -> Iterator[Due]:
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": DUE_INDEX,
                "KeyConditionExpression": "due_shard = :shard AND next_check_at <= :now",
                "ExpressionAttributeValues": to_dynamo({":shard": shard, ":now": now}),
                "Limit": self._page_size,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            try:
                page = self._client.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise StoreError(f"querying the due index failed: {exc}") from exc
            for item in page.get("Items", []):
                request_id = item.get("request_id", {}).get("S")
                check = item.get("next_check_at", {}).get("N")
                if request_id is not None and check is not None:
                    yield Due(request_id, Decimal(check))
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def claim(self, due: Due, owner: str, now: int, next_check_at: Decimal, attempts: int) -> Mapping[str, Any] | None:
        request_id = due.request_id
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=to_dynamo({"request_id": request_id}),
                UpdateExpression="SET lease_owner = :owner, lease_until = :next, next_check_at = :next, "
                "attempts = :attempts, #status = :pending, submitted_at = if_not_exists(submitted_at, :now), "
                "first_claimed_at = if_not_exists(first_claimed_at, :now)",
                # a hand-written item without a status is taken as pending: it is in the due index, so that was meant
                ConditionExpression="(#status = :pending OR attribute_not_exists(#status)) "
                "AND next_check_at = :seen AND (attribute_not_exists(lease_until) OR lease_until < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_dynamo(
                    {
                        ":owner": owner,
                        ":next": next_check_at,
                        ":attempts": attempts,
                        ":now": now,
                        ":seen": due.next_check_at,
                        ":pending": Status.PENDING.value,
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if conditional_failed(exc):
                current: Mapping[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
                if holds(current, owner, next_check_at):
                    # a retry of our own claim: the first attempt was applied, its answer lost (500, reset)
                    return from_dynamo(current or {})
                self._unindex_if_misfiled(request_id, current)
                return None
            refused = item_refused(exc, request_id)
            if refused is not None:
                raise refused from None
            raise StoreError(f"claiming {request_id} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"claiming {request_id} failed: {exc}") from exc
        return from_dynamo(answer["Attributes"])

    def _unindex_if_misfiled(self, request_id: str, raw: Mapping[str, Any] | None) -> None:
        """An item in the due index whose status is not PENDING can never be claimed and would be read by every
        sweep forever: take it out of the index and say why on the item. (A next_check_at that is not a number
        cannot get into the index: DynamoDB refuses the write.)"""
        status = (raw or {}).get("status", {})
        if not raw or "due_shard" not in raw or "S" not in status or status["S"] == Status.PENDING.value:
            return  # an ordinary lost race: leased or rescheduled by another sweep
        reason = f"status {status['S'][:40]!r} is not PENDING"
        try:
            self._client.update_item(
                TableName=self._table,
                Key=to_dynamo({"request_id": request_id}),
                UpdateExpression="SET last_error = :why REMOVE due_shard",
                ConditionExpression="attribute_exists(due_shard) AND attribute_exists(#status) AND #status <> :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_dynamo(
                    {":why": f"removed from the due index: {reason}", ":pending": Status.PENDING.value}
                ),
            )
        except (ClientError, BotoCoreError):
            return  # changed meanwhile: the next sweep looks again
        logger.error(
            "malformed item removed from the due index", extra={"request_id": request_id[:128], "reason": reason}
        )

    def reschedule(
        self, request_id: str, owner: str, next_check_at: Decimal, transient_errors: int, last_error: str | None
    ) -> None:
        values: dict[str, Any] = {":next": next_check_at, ":errors": transient_errors}
        update = "SET next_check_at = :next, transient_errors = :errors"
        if last_error is not None:
            update += ", last_error = :last"
            values[":last"] = last_error[:500]
        self._guarded_update(request_id, owner, update + " REMOVE lease_owner, lease_until", values)

    def release(self, request_id: str, owner: str, next_check_at: Decimal, attempts: int) -> None:
        values: dict[str, Any] = {":next": next_check_at}
        if attempts > 0:
            values[":attempts"] = attempts
            update = "SET next_check_at = :next, attempts = :attempts REMOVE lease_owner, lease_until"
        else:  # never asked: as the producer wrote it
            update = "SET next_check_at = :next REMOVE attempts, lease_owner, lease_until"
        self._guarded_update(request_id, owner, update, values)

    def extend(self, request_id: str, owner: str, next_check_at: Decimal) -> None:
        self._guarded_update(
            request_id, owner, "SET next_check_at = :next, lease_until = :next", {":next": next_check_at}
        )

    def decide(self, outcome: Outcome, owner: str, next_check_at: Decimal) -> None:
        self._guarded_update(
            outcome.request_id,
            owner,
            "SET settling = :outcome, next_check_at = :next, lease_until = :next",
            {":outcome": outcome_map(outcome), ":next": next_check_at},
        )

    def finish(self, outcome: Outcome, owner: str, expires_at: int) -> None:
        self._finish(outcome, owner, expires_at, None)

    def finish_called_back(self, outcome: Outcome, owner: str, expires_at: int, callback: Mapping[str, str]) -> None:
        self._finish(outcome, owner, expires_at, callback)

    def _finish(self, outcome: Outcome, owner: str, expires_at: int, callback: Mapping[str, str] | None) -> None:
        values: dict[str, Any] = {
            ":status": outcome.status.value,
            ":kind": outcome.kind.value,
            ":outcome": outcome_map(outcome),
            ":finished": outcome.finished_at,
            ":expires": expires_at,
            ":attempts": outcome.attempts,
        }
        update = (
            "SET #status = :status, kind = :kind, outcome = :outcome, finished_at = :finished, "
            "expires_at = :expires, attempts = :attempts"
        )
        if callback is not None:  # issue 19: what became of the task token's callback (never the token)
            values[":callback"] = dict(callback)
            update += ", task_callback = :callback"
        update += " REMOVE due_shard, lease_owner, lease_until, settling"
        update += ", task_token" if callback is not None else ""
        self._guarded_update(
            request_id=outcome.request_id,
            owner=owner,
            update=update,
            values=values,
            names={"#status": "status"},
            applied=lambda item: settled_as(item, outcome),
        )

    def take_asking(self, owner: str, now: int, until: int) -> AskingLease:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=to_dynamo({"request_id": ASKING_KEY}),
                UpdateExpression="SET lease_owner = :me, lease_until = :until",
                ConditionExpression="attribute_not_exists(lease_owner) OR lease_until < :now OR lease_owner = :me",
                ExpressionAttributeValues=to_dynamo({":me": owner, ":until": until, ":now": now}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if conditional_failed(exc):  # dynalite returns no item: the holder is then unknown
                held = from_dynamo(exc.response.get("Item") or {})  # type: ignore[arg-type]
                return _asking(held, "another sweep")
            raise StoreError(f"taking the asking lease failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"taking the asking lease failed: {exc}") from exc
        return _asking(from_dynamo(answer["Attributes"]), owner)

    def keep_asking(self, lease: AskingLease) -> None:
        update = "SET lease_until = :until, " + _RATE_STATE
        self._guarded_update(ASKING_KEY, lease.owner, update, {":until": lease.until, **_rate_values(lease)})

    def end_asking(self, lease: AskingLease) -> None:
        update = "SET " + _RATE_STATE + " REMOVE lease_owner, lease_until"
        self._guarded_update(ASKING_KEY, lease.owner, update, _rate_values(lease))

    def _guarded_update(
        self,
        request_id: str,
        owner: str,
        update: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
        *,
        applied: Callable[[Mapping[str, Any] | None], bool] | None = None,
    ) -> None:
        """A write conditional on holding the lease. `applied` tells, from the item as it is when the condition
        failed, that this very write already happened (botocore retried it after a 500 or a reset)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_dynamo({"request_id": request_id}),
            "UpdateExpression": update,
            "ConditionExpression": "lease_owner = :me",
            "ExpressionAttributeValues": to_dynamo({**values, ":me": owner}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self._client.update_item(**kwargs)
        except ClientError as exc:
            if conditional_failed(exc):
                if applied is not None and applied(exc.response.get("Item")):  # type: ignore[arg-type]
                    return
                raise LeaseLost(request_id) from None
            refused = item_refused(exc, request_id)
            if refused is not None:
                raise refused from None
            raise StoreError(f"updating {request_id} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"updating {request_id} failed: {exc}") from exc
