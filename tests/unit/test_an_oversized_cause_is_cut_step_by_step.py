"""How SendTaskFailure's `cause` is cut when the outcome message is over the limit (issue 19): nothing is cut from a
cause that fits exactly; then first_errors is emptied, then errors_by_code, then every string is cut to 1,024
characters, halved until it fits (down to 8), each cut string ending in '...'; and when even that is too long the
cause is the outcome's identifiers alone. Pure: no AWS, no sweep."""

from __future__ import annotations

import json
from typing import Any

from profile_poller.core.callbacks import clip_cause
from profile_poller.core.message import message_body
from profile_poller.core.model import ErrorRow, Kind, Outcome, Status, StoredFile

SOURCE = "https://files.example/jobs/r-1/errors.csv"


def dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def body(**fields: Any) -> dict[str, Any]:
    """A FAILED outcome's message, with a file, two first errors and two codes; `fields` replace its entries."""
    failed = Outcome(
        "r-1",
        Status.FAILED,
        Kind.UPDATE,
        1_800_000_000,
        1_800_000_100,
        3,
        files=(StoredFile.not_archived("error-file", SOURCE, "the download broke off"),),
        first_errors=(ErrorRow("3005", "Invalid Profile ID", "1"), ErrorRow("7031", "say hi", "2")),
        errors_by_code={"3005": 1, "7031": 1},
        correlation={"order": "42"},
    )
    return {**message_body(failed), **fields}


def cut(value: Any, chars: int) -> Any:
    """Every string of `value` longer than `chars` cut to `chars` characters, the last three '...'."""
    if isinstance(value, str):
        return value if len(value) <= chars else value[: chars - 3] + "..."
    if isinstance(value, dict):
        return {k: cut(v, chars) for k, v in value.items()}
    if isinstance(value, list):
        return [cut(v, chars) for v in value]
    return value


def emptied(message: dict[str, Any]) -> dict[str, Any]:
    return {**message, "first_errors": [], "errors_by_code": {}}


def test_a_cause_exactly_at_the_limit_is_sent_whole() -> None:
    message = body()
    assert json.loads(clip_cause(message, len(dumps(message)))) == message


def test_a_cause_that_fits_once_first_errors_is_emptied_keeps_its_error_codes() -> None:
    message = body()
    fits = {**message, "first_errors": []}
    assert json.loads(clip_cause(message, len(dumps(fits)))) == fits


def test_strings_are_cut_to_1024_characters_first_and_a_string_of_exactly_1024_is_kept() -> None:
    # Given a reason of 3,000 characters and an API description of exactly 1,024
    message = body(reason="r" * 3000, api_description="d" * 1024)
    expected = emptied({**message, "reason": "r" * 1021 + "..."})
    # When the limit is exactly the size of the message with its strings cut to 1,024 characters
    cause = clip_cause(message, len(dumps(expected)))
    # Then only the long reason was cut (ending in '...'); the file entry and the description are whole
    assert json.loads(cause) == expected
    assert json.loads(cause)["files"] == message["files"]


def test_the_cut_is_halved_until_the_cause_fits() -> None:
    message = body(reason="r" * 3000)
    for chars in (512, 256, 128, 64, 32, 16, 8):
        expected = cut(emptied(message), chars)
        # at exactly the size of that cut, and at one character less than the cut before it
        assert json.loads(clip_cause(message, len(dumps(expected)))) == expected
        assert json.loads(clip_cause(message, len(dumps(cut(emptied(message), 2 * chars))) - 1)) == expected


def test_a_cause_that_does_not_fit_even_cut_to_8_characters_is_the_outcomes_identifiers() -> None:
    # Given a correlation of 3,000 keys (keys are never cut)
    message = body(correlation={f"key-{i:05}": "v" for i in range(3000)})
    assert len(dumps(cut(emptied(message), 8))) > 32_768
    # When the cause is clipped
    cause = clip_cause(message)
    # Then it names the outcome and nothing else
    assert json.loads(cause) == {"event_id": "r-1:FAILED", "status": "FAILED", "kind": "update", "request_id": "r-1"}
