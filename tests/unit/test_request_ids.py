"""Request ids: which are valid, and how an invalid one is quoted in the error (briefly: cut past 40 characters)."""

from __future__ import annotations

import pytest

from profile_poller.core.model import InvalidRequestId, validate_request_id


@pytest.mark.parametrize("rid", ["abc", "A1-b_2.c", "0" * 128, "9f8e7d6c-5b4a-3f2e-1d0c-bbbbbbbbbbbb"])
def test_valid_request_ids(rid: str) -> None:
    assert validate_request_id(rid) == rid


@pytest.mark.parametrize(
    "rid", ["", ".", "..", "../x", "a/b", "a?b", "a#b", "a b", "a%2F", "-x", "x" * 129, "x" * 10_000, "é", 42, None]
)
def test_invalid_request_ids(rid: object) -> None:
    with pytest.raises(InvalidRequestId):
        validate_request_id(rid)


def test_an_invalid_request_id_is_quoted_briefly_in_the_error() -> None:
    with pytest.raises(InvalidRequestId) as long:
        validate_request_id("/" + "x" * 50)
    assert str(long.value) == (
        f"invalid request-id {'/' + 'x' * 39 + '...'!r}: use 1-128 letters, digits, '-', '_' or '.', "
        "starting with a letter or digit"
    )
    with pytest.raises(InvalidRequestId) as short:
        validate_request_id("/" + "x" * 39)  # exactly 40 characters: shown whole
    assert str(short.value).startswith(f"invalid request-id {'/' + 'x' * 39!r}: use")
    with pytest.raises(InvalidRequestId, match=r"^request-id must be a string, got int$"):
        validate_request_id(7)


def test_an_invalid_request_id_of_41_characters_is_shown_cut() -> None:
    with pytest.raises(InvalidRequestId) as caught:
        validate_request_id("/" + "x" * 40)
    assert str(caught.value).startswith(f"invalid request-id {'/' + 'x' * 39 + '...'!r}: use")
