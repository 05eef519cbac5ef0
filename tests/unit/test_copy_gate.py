"""The copy gate and the metered reader with in-memory fakes: the deadline computed from the Lambda time left, a
file needing exactly the time an invocation (or the time left) gives, the last second before the deadline, and the
reasons a cut copy carries (the over-the-wire cases are in tests/integration/test_copy_deadlines.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import pytest

from profile_poller.core.copygate import CopyClock, CopyGate
from profile_poller.core.ports import CopyOutOfTime, Credentials, RemoteFile, TooSlowToCopy
from profile_poller.core.settings import Settings
from profile_poller.core.streams import MeteredReader
from tests.fakes import FakeApi, FakeFile

CREDS = Credentials("k", "https://tenant.example")


class Dribble(FakeFile):
    """A source that returns at most `piece` bytes a read, as the HTTP adapter does when little has arrived."""

    piece: int = 3

    def read(self, size: int = -1, /) -> bytes:
        return super().read(self.piece if size < 0 else min(size, self.piece))


def test_short_reads_still_fill_each_part() -> None:
    reader = MeteredReader(Dribble(b"abcdefghij"), max_bytes=100)
    assert [reader.read(4), reader.read(4), reader.read(4), reader.read(4)] == [b"abcd", b"efgh", b"ij", b""]
    assert reader.finished and reader.bytes_read == 10


class Left:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self) -> float:
        return self.seconds


class Gated:
    """The gate in front of a fake file source, as the copier uses it."""

    def __init__(self, gate: CopyGate) -> None:
        self.gate = gate
        self.api = FakeApi(files={"f": [FakeFile(b"x" * 500)]})

    def open_file(self, path: str, credentials: Credentials) -> AbstractContextManager[RemoteFile]:
        return self.gate.open(lambda: self.api.open_file(path, credentials))


def gate(left: Left, invocation: float = 100.0, rate: float = 10.0, slots: int = 1) -> tuple[Gated, list[int]]:
    cuts: list[int] = []
    return Gated(CopyGate(slots, CopyClock(left, invocation, rate), lambda: cuts.append(1))), cuts


def test_a_file_needing_more_than_an_invocation_is_refused_for_good() -> None:
    copies, cuts = gate(Left(100.0), invocation=40.0)  # 500 bytes at 10 B/s: 50 s > 40 s
    with pytest.raises(TooSlowToCopy, match="within one invocation"), copies.open_file("f", CREDS):
        pass
    assert cuts == []


def test_a_file_that_fits_an_invocation_but_not_the_time_left_is_cut_before_its_first_byte() -> None:
    copies, cuts = gate(Left(30.0))  # 50 s needed, 30 s left, 100 s in a whole invocation
    with pytest.raises(CopyOutOfTime), copies.open_file("f", CREDS):
        pass
    assert cuts == [1]


def test_reads_past_the_deadline_are_cut_and_the_slot_comes_back() -> None:
    left = Left(100.0)
    copies, cuts = gate(left)
    with copies.open_file("f", CREDS) as remote:
        assert remote.read(100) == b"x" * 100
        left.seconds = 0.0
        with pytest.raises(CopyOutOfTime, match="deadline"):
            remote.read(100)
    assert cuts == [1]
    left.seconds = 100.0
    with copies.open_file("f", CREDS) as remote:  # the slot was released
        assert remote.read(10) == b"x" * 10


def test_no_free_slot_before_the_deadline_is_a_cut() -> None:
    left = Left(100.0)
    copies, cuts = gate(left, slots=1)

    @contextmanager
    def holding() -> Iterator[None]:
        with copies.open_file("f", CREDS):
            yield

    with holding():
        left.seconds = 0.0  # the wait for the only slot may last no longer than the time left
        with pytest.raises(CopyOutOfTime, match="slot"), copies.open_file("f", CREDS):
            pass
    assert cuts == [1]


SETTINGS = Settings(table_name="t", bucket_name="b", topic_arn="arn:topic", secret_id="s", time_margin_seconds=10)


def gate_with_time_left(left: float, invocation: float = 100.0) -> tuple[CopyGate, Left, list[int]]:
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
    copies, _, cuts = gate_with_time_left(left=50.0, invocation=50.0)
    with copies.open(source) as remote:
        assert remote.read(-1) == b"x" * 500
    assert cuts == []


def test_a_file_needing_more_than_the_time_left_is_cut_saying_so() -> None:
    copies, _, cuts = gate_with_time_left(left=30.0)
    with pytest.raises(CopyOutOfTime) as raised, copies.open(source):
        pass
    assert str(raised.value) == "copy deadline: file of 500 bytes needs 50 s at the assumed minimum rate, 30 s left"
    assert cuts == [1]


def test_reads_go_on_until_the_deadline_itself_and_stop_there_saying_why() -> None:
    copies, clock, cuts = gate_with_time_left(left=100.0)
    with copies.open(source) as remote:
        clock.seconds = 0.5  # half a second before the deadline: still read
        assert remote.read(100) == b"x" * 100
        clock.seconds = 0.0
        with pytest.raises(CopyOutOfTime) as raised:
            remote.read(100)
    assert str(raised.value) == "copy deadline: copy deadline reached (TIME_MARGIN_SECONDS before the function timeout)"
    assert cuts == [1]
