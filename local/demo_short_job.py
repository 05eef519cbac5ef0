"""`make demo`'s last part: one job that finishes 30 s after submission, announced seconds later by a sweep with the
template's cadence (BACKOFF_BASE_SECONDS, BACKOFF_AGE_FRACTION, STAY_UP_SECONDS), in one invocation."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path
from typing import Any

from local.context import LambdaContext, OffsetClock
from local.simulator import Simulator, Step
from local.template import TEMPLATE, load_template
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.core import registration
from profile_poller.core.model import Kind

ROOT = Path(__file__).resolve().parent.parent


def short_job(app: Any, sim: Simulator, stack: Any, clock: OffsetClock, *build: Any) -> None:
    """The template's cadence (a sweep that stays up while requests fall due, the first check at
    BACKOFF_BASE_SECONDS of age): a job that finishes 30 s after it was submitted is announced seconds later, in
    the same invocation. The sweep's waits move the demo's clock instead of sleeping."""
    _, load_settings, runtime = build
    cadence = {
        name: str(value)
        for name, value in load_template(TEMPLATE)["Resources"]["PollerFunction"]["Properties"]["Environment"][
            "Variables"
        ].items()
        if name in ("BACKOFF_BASE_SECONDS", "BACKOFF_AGE_FRACTION", "STAY_UP_SECONDS")
    }
    submitted = int(clock())
    finishes = submitted + 30
    sim.script("short-job", Step.pending())

    def wait(seconds: float) -> None:
        clock.advance(seconds)
        if clock() >= finishes:
            sim.script("short-job", Step.done_update(2, None))

    app.use_runtime(runtime.build(load_settings({**os.environ, **cadence}), clock=clock, sleep=wait))
    # the producer item, submitted "now" on the demo's clock (hours ahead of the wall clock by this point, which the
    # producer helper would refuse as a time from the future): written as the helper writes it
    item = registration.pending_item("short-job", kind=Kind.UPDATE, submitted_at=submitted)
    stack.client("dynamodb").put_item(
        TableName=stack.table, Item=to_dynamo(item), ConditionExpression="attribute_not_exists(request_id)"
    )
    event = json.loads((ROOT / "events" / "schedule.json").read_text())
    with contextlib.redirect_stdout(io.StringIO()):
        app.lambda_handler(event, LambdaContext())
    item = stack.client("dynamodb").get_item(TableName=stack.table, Key={"request_id": {"S": "short-job"}})["Item"]
    announced = int(item["finished_at"]["N"])
    print(
        f"\nshort job with the template's cadence ({', '.join(f'{k}={v}' for k, v in cadence.items())}): submitted "
        f"at +0 s, finished at +30 s, {item['status']['S']} and announced at +{announced - submitted} s "
        f"({announced - finishes} s after it finished), asked {sim.status_calls['short-job']} times, one invocation"
    )
