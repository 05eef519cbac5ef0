"""Every door an outcome leaves by (issue 19): the SNS topic and the outcome event bus, each with a name.

An outcome counts as published only when every door took it. A door that refused an entry gets it again on a later
sweep; a door that took it does not (the settling item records which did, `doors_taken`), so an event bus refusing
an entry for good never makes SNS subscribers get the same message again and again. A door's duplicate (a sweep
that died after publishing) keeps the event_id: subscribers deduplicate on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .log import logger
from .model import Outcome
from .ports import Notifier, PublishError

SNS_DOOR = "sns"
EVENTS_DOOR = "events"


class AllDoors:
    """The doors by name; also a Notifier (an outcome failed anywhere is in the failed set)."""

    def __init__(self, doors: Sequence[Notifier] | Mapping[str, Notifier]) -> None:
        if isinstance(doors, Mapping):
            self.doors: dict[str, Notifier] = dict(doors)
        else:  # by position: the topic first, then the bus (entry/runtime.py)
            names = (SNS_DOOR, EVENTS_DOOR)
            self.doors = {names[i] if i < len(names) else f"door-{i}": d for i, d in enumerate(doors)}

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.doors)

    def wrapped(self, wrap: Callable[[Notifier], Notifier]) -> AllDoors:
        return AllDoors({name: wrap(door) for name, door in self.doors.items()})

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        taken = self.publish_missing(outcomes)
        return {o.event_id for o in outcomes if not set(self.doors) <= taken[o.event_id]}

    def publish_missing(self, outcomes: Sequence[Outcome]) -> dict[str, frozenset[str]]:
        """Send each outcome through the doors it has not gone through yet (`Outcome.doors_taken`); the doors that
        have taken each one now, by event_id. A door that raises took none of its entries."""
        taken = {o.event_id: set(o.doors_taken) for o in outcomes}
        for name, door in self.doors.items():
            todo = [o for o in outcomes if name not in o.doors_taken]
            if not todo:
                continue
            try:
                failed = door.publish(todo)
            except PublishError as exc:
                logger.error("publishing failed; the requests stay pending", extra={"door": name, "reason": str(exc)})
                failed = {o.event_id for o in todo}
            except Exception:  # an SDK surprise must not lose the batch: the requests stay pending
                logger.exception("publishing failed unexpectedly; the requests stay pending", extra={"door": name})
                failed = {o.event_id for o in todo}
            for outcome in todo:
                if outcome.event_id not in failed:
                    taken[outcome.event_id].add(name)
        return {event_id: frozenset(names) for event_id, names in taken.items()}


def as_doors(notifier: Notifier) -> AllDoors:
    """A plain notifier is the one door (the SNS topic)."""
    return notifier if isinstance(notifier, AllDoors) else AllDoors({SNS_DOOR: notifier})
