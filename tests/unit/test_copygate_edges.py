"""The copy gate at its edges: the deadline computed from the Lambda time left, a file needing exactly the time an
invocation (or the time left) gives, the last second before the deadline, and the reasons a cut copy carries."""

from __future__ import annotations

from contextlib import nullcontext

import pytest

from profile_poller.core.copygate import CopyClock, CopyGate
from profile_poller.core.ports import CopyOutOfTime
from profile_poller.core.settings import Settings
from tests.fakes import FakeFile

SETTINGS = Settings(table_name="t", bucket_name="b", topic_arn="arn:topic", secret_id="s", time_margin_seconds=10)


class Left:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self) -> float:
        return self.seconds


def gate(left: float, invocation: float = 100.0) -> tuple[CopyGate, Left, list[int]]:
    cuts: list[int] = []
    clock = Left(left)
    return CopyGate(1, CopyClock(clock, invocation, 10.0), lambda: cuts.append(1)), clock, cuts


def source() -> nullcontext[FakeFile]:
    return nullcontext(FakeFile(b"x" * 500))  # 50 s at the assumed 10 bytes/s


def test_the_copy_deadline_is_the_lambda_time_left_minus_the_margin() -> None:
    remaining_ms = [60_000]
    clock = CopyClock.for_sweep(SETTINGS, lambda: remaining_ms[0])
    assert (clock.time_left(), clock.invocation_seconds) == (50.0, 50.0)
    remaining_ms[0] = 25_500
    assert (clock.time_left(), clock.invocation_seconds) == (15.5, 50.0)


def test_a_file_needing_exactly_an_invocation_and_exactly_the_time_left_is_copied() -> None:
    copies, _, cuts = gate(left=50.0, invocation=50.0)
    with copies.open(source) as remote:
        assert remote.read(-1) == b"x" * 500
    assert cuts == []


def test_a_file_needing_more_than_the_time_left_is_cut_saying_so() -> None:
    copies, _, cuts = gate(left=30.0)
    with pytest.raises(CopyOutOfTime) as raised, copies.open(source):
        pass
    assert str(raised.value) == "copy deadline: file of 500 bytes needs 50 s at the assumed minimum rate, 30 s left"
    assert cuts == [1]


def test_reads_go_on_until_the_deadline_itself_and_stop_there_saying_why() -> None:
    copies, clock, cuts = gate(left=100.0)
    with copies.open(source) as remote:
        clock.seconds = 0.5  # half a second before the deadline: still read
        assert remote.read(100) == b"x" * 100
        clock.seconds = 0.0
        with pytest.raises(CopyOutOfTime) as raised:
            remote.read(100)
    assert str(raised.value) == "copy deadline: copy deadline reached (TIME_MARGIN_SECONDS before the function timeout)"
    assert cuts == [1]
