"""The next check time and the attempt count in its fraction, the shards a sweep reads, one key re-read a sweep."""

from __future__ import annotations

from decimal import Decimal

from profile_poller.core.asking import Asker
from profile_poller.core.ports import Credentials
from profile_poller.core.schedule import attempts_in, check_at
from profile_poller.core.shards import MAX_DUE_SHARDS, shards_to_read
from tests.fakes import FakeApi, FakeClock, FakeKeys


def test_no_attempts_yet_is_a_whole_second() -> None:
    assert check_at(1_800_000_030, 0) == Decimal("1800000030")
    assert check_at(1_800_000_030, -2) == Decimal("1800000030")
    assert check_at(1_800_000_030, 1) == Decimal("1800000030.0001")


def test_the_attempts_are_read_from_the_fraction_above_the_whole_second() -> None:
    assert attempts_in(Decimal("1800000030.5001")) == 5001
    assert attempts_in("1800000030.9999") == 9999


def test_a_producer_fraction_or_garbage_counts_no_attempts() -> None:
    assert attempts_in(1800000030.123456) == 0  # time.time() written by a producer: a first check
    assert attempts_in("not a number") == 0


def test_the_shard_numbered_due_shards_is_the_first_orphaned_one() -> None:
    shards = list(shards_to_read(2))
    assert shards[:3] == [("0", False), ("1", False), ("2", True)]
    assert len(shards) == MAX_DUE_SHARDS


def test_a_sweep_rereads_the_secret_once_however_often_the_key_is_rejected() -> None:
    # Given a secret holding one key only
    keys = FakeKeys("k1")
    asker = Asker(FakeApi(), keys, FakeClock())
    rejected = Credentials("k1", keys.base_url)
    # When the key is rejected twice in one sweep
    first = asker.rotate(rejected)
    second = asker.rotate(rejected)
    # Then the secret was re-read once, and neither time gave a new key
    assert (first, second, keys.refreshes) == (None, None, 1)
