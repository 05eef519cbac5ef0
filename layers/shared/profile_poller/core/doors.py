"""Every door an outcome leaves by (issue 19): the SNS topic and the outcome event bus, as one Notifier.

An outcome counts as published only when every door took it; one refused anywhere stays pending and is sent
again through all of them by a later sweep, with the same event_id (subscribers deduplicate on it).
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import Outcome
from .ports import Notifier


class AllDoors:
    def __init__(self, doors: Sequence[Notifier]) -> None:
        self._doors = tuple(doors)

    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        failed: set[str] = set()
        for door in self._doors:
            failed |= door.publish(outcomes)
        return failed
