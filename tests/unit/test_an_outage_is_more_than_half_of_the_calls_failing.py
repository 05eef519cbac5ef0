"""The outage watch (core/outage.py) calls it an outage when more than half of the sweep's status calls, once there
are OUTAGE_MIN_CALLS of them, failed transiently: exactly half is not, and neither is a large minority."""

from __future__ import annotations

from profile_poller.core.outage import OUTAGE_MIN_CALLS, OutageWatch


def outage_after(answered: int, failed: int) -> str | None:
    watch = OutageWatch()
    last = None
    for transient in [False] * answered + [True] * failed:
        last = watch.record(transient)
    assert last is not None
    return last.outage


def test_exactly_half_failing_is_not_an_outage() -> None:
    assert OUTAGE_MIN_CALLS <= 6
    assert outage_after(answered=3, failed=3) is None


def test_one_more_failure_than_answers_is_an_outage_saying_so() -> None:
    reason = outage_after(answered=3, failed=4)
    assert reason is not None and "4 of 7 status calls failed transiently" in reason and "nobody is charged" in reason


def test_a_large_minority_failing_is_not_an_outage() -> None:
    assert outage_after(answered=6, failed=4) is None
