"""The invocation event: the ScheduleV2 `Input` (events/schedule.json) or a classic EventBridge
"Scheduled Event" (events/scheduled-event.json). The event only starts a sweep; nothing in it is trusted."""

from __future__ import annotations

import json
from dataclasses import dataclass

SCHEDULE_SOURCE = "profile-poller.schedule"
MAX_EVENT_BYTES = 64 * 1024


class InvalidEvent(ValueError):
    pass


@dataclass(frozen=True)
class Trigger:
    source: str
    scheduled_time: str | None = None
    execution_id: str | None = None


def _field(event: dict[str, object], name: str) -> str | None:
    value = event.get(name)
    # unsubstituted context attributes (sam local invoke sends the Input as written) count as absent
    if not isinstance(value, str) or not value or value.startswith("<aws."):
        return None
    return value[:200]


def parse_event(event: object) -> Trigger:
    if not isinstance(event, dict):
        raise InvalidEvent(f"expected a JSON object event, got {type(event).__name__}")
    try:
        size = len(json.dumps(event, default=str))
    except (TypeError, ValueError):
        raise InvalidEvent("event is not JSON-serialisable") from None
    if size > MAX_EVENT_BYTES:
        raise InvalidEvent(f"event is {size} bytes, over the {MAX_EVENT_BYTES}-byte limit for a trigger")
    if event.get("source") == SCHEDULE_SOURCE and event.get("action") == "sweep":
        return Trigger(SCHEDULE_SOURCE, _field(event, "scheduled_time"), _field(event, "execution_id"))
    if event.get("detail-type") == "Scheduled Event" and event.get("source") == "aws.events":
        return Trigger("aws.events", _field(event, "time"), _field(event, "id"))
    keys = ", ".join(sorted(str(k) for k in event)[:10])
    raise InvalidEvent(
        f"unrecognised event (keys: {keys or 'none'}): expected the schedule input "
        f'{{"source": "{SCHEDULE_SOURCE}", "action": "sweep"}} or an EventBridge Scheduled Event'
    )
