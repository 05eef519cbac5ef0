"""Killed sweeps for the chaos run: a crash point armed for one sweep (after the archive put, after the publish,
before the terminal transition), raised as a BaseException that nothing in the sweep catches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Crash(BaseException):
    """The Lambda dying mid-item: not an Exception, so nothing in the sweep catches it."""


@dataclass
class Killer:
    """Arms one crash point for one sweep; once fired, every later call of that sweep dies too."""

    point: str | None
    dead: bool = False

    def check(self, point: str) -> None:
        if self.dead or point == self.point:
            self.dead = True
            raise Crash(point)


class Dying:
    """Wraps a sweep dependency (archive, notifier, store): a named call fires the killer before or after it."""

    def __init__(self, inner: Any, killer: Killer, before: dict[str, str], after: dict[str, str]) -> None:
        self._inner, self._killer, self._before, self._after = inner, killer, before, after

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._killer.dead:
                raise Crash("dead")
            if name in self._before:
                self._killer.check(self._before[name])
            result = target(*args, **kwargs)
            if name in self._after:
                self._killer.check(self._after[name])
            return result

        return call
