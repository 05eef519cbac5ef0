"""Every row of the DESIGN §1 error table, with the body code as a string and as a number."""

from __future__ import annotations

import pytest

from profile_poller.core.classify import (
    ApiResponse,
    Failed,
    Finished,
    KeyRejected,
    Pending,
    Systemic,
    Throttled,
    Transient,
    classify,
    parse_retry_after,
)

NOW = 1_800_000_000.0


def answer(status: int, body: str | bytes, **headers: str) -> ApiResponse:
    return ApiResponse(status, body.encode() if isinstance(body, str) else body, headers)


@pytest.mark.parametrize("code", ['"1010"', "1010", "1010.0"])
def test_200_1010_is_still_pending(code: str) -> None:
    assert (
        classify(answer(200, f'{{"code": {code}, "description": "The request was not processed."}}'), NOW) == Pending()
    )


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (200, "3005"),
        (400, "3005"),
        (200, "7031"),
        (404, "7031"),
        (200, "1001"),
        (400, "1001"),
        (200, "102"),
        (200, "1020"),
    ],
)
@pytest.mark.parametrize("as_number", [True, False])
def test_terminal_codes_fail_the_request(status: int, code: str, as_number: bool) -> None:
    raw = code if as_number else f'"{code}"'
    verdict = classify(answer(status, f'{{"code": {raw}, "description": "bad profile"}}'), NOW)
    assert verdict == Failed(code, "bad profile")


@pytest.mark.parametrize("code", ["102", "1020"])
def test_sibling_api_codes_are_terminal_only_with_http_200(code: str) -> None:
    assert isinstance(classify(answer(500, f'{{"code": {code}}}'), NOW), Transient)


def test_401_430_is_systemic() -> None:
    verdict = classify(answer(401, '{"code": 430, "description": "Authorization failed for this token or key"}'), NOW)
    assert isinstance(verdict, Systemic) and verdict.code == "430"


@pytest.mark.parametrize(
    ("status", "body"), [(401, '{"code": "498"}'), (498, '{"code": 498}'), (498, "<html/>"), (401, "")]
)
def test_498_and_other_401s_ask_for_a_key_reread(status: int, body: str) -> None:
    assert isinstance(classify(answer(status, body), NOW), KeyRejected)


@pytest.mark.parametrize("body", ['{"code": 405, "description": "Method not supported"}', ""])
def test_405_is_systemic(body: str) -> None:
    verdict = classify(answer(405, body), NOW)
    assert isinstance(verdict, Systemic) and verdict.code == "405"


def test_429_with_retry_after_seconds() -> None:
    assert classify(answer(429, '{"code": 429}', **{"Retry-After": "30"}), NOW) == Throttled(30.0)


def test_429_without_retry_after_and_body_code_429_on_200() -> None:
    assert classify(answer(429, ""), NOW) == Throttled(None)
    assert classify(answer(200, '{"code": "429"}'), NOW) == Throttled(None)


def test_retry_after_as_http_date() -> None:
    # 1_800_000_000 is Fri, 15 Jan 2027 08:00:00 GMT
    assert parse_retry_after("Fri, 15 Jan 2027 08:00:10 GMT", NOW - 10) == 20.0
    assert parse_retry_after("Fri, 15 Jan 2027 08:00:10 -0000", NOW) == 10.0  # a date without a zone is UTC
    assert parse_retry_after("Fri, 15 Jan 2027 07:59:00 GMT", NOW) == 0.0  # a date in the past: ask now
    assert classify(answer(429, "", **{"retry-after": "Fri, 15 Jan 2027 08:01:00 GMT"}), NOW) == Throttled(60.0)


@pytest.mark.parametrize("value", [None, "", "  ", "garbage", "-5", "1.5", "Fri, 99 Foo 2027"])
def test_retry_after_that_is_absent_or_unreadable_is_none(value: str | None) -> None:
    assert parse_retry_after(value, NOW) is None


def test_retry_after_seconds_are_read_as_sent() -> None:
    assert parse_retry_after(" 120 ", NOW) == 120.0 and parse_retry_after("0", NOW) == 0.0


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (499, '{"code": 499, "description": "Request failed"}'),
        (500, '{"code": 500, "description": "Internal server error"}'),
        (502, "<html><h1>Bad Gateway</h1></html>"),
        (503, ""),
        (200, "not json"),
        (200, "[1, 2]"),
        (200, '{"code": 9999, "description": "new"}'),
        (200, '{"hello": "world"}'),
        (200, b"\xff\xfe\x00"),
    ],
)
def test_transient_answers(status: int, body: str | bytes) -> None:
    assert isinstance(classify(answer(status, body), NOW), Transient)


def test_finished_update_with_numeric_string_count() -> None:
    verdict = classify(answer(200, '{"error-file": "/files/e.csv", "update-count": "42"}'), NOW)
    assert verdict == Finished(file=None, error_file="/files/e.csv", update_count=42)


def test_finished_get() -> None:
    assert classify(answer(200, '{"file": "https://x/y.csv"}'), NOW) == Finished("https://x/y.csv", None, None)


@pytest.mark.parametrize("count", ['"abc"', "-3", "1.5", "true"])
def test_unusable_update_count_still_finishes_with_a_warning(count: str) -> None:
    verdict = classify(answer(200, f'{{"update-count": {count}, "error-file": "/e.csv"}}'), NOW)
    assert isinstance(verdict, Finished) and verdict.update_count is None
    assert verdict.warning is not None and "update-count" in verdict.warning


def test_a_file_value_that_is_not_a_string_is_transient() -> None:
    assert isinstance(classify(answer(200, '{"file": 12}'), NOW), Transient)


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, "", "HTTP 200 with an empty body"),
        (502, "<html>Bad Gateway</html>", "HTTP 502 with a non-JSON body"),
        (200, "[1, 2]", "HTTP 200 with a JSON list instead of an object"),
        (200, '{"hello": "world"}', "HTTP 200 answer without a code or any file (unrecognised)"),
        (500, '{"file": "/x.csv"}', "HTTP 500 answer without a code"),
        (200, '{"code": 9999, "description": "' + "d" * 200 + '"}', "HTTP 200, code 9999: " + "d" * 120),
        (200, '{"code": true}', "HTTP 200, code True: "),
        (200, '{"code": [1, 2]}', "HTTP 200, code [1, 2]: "),
        (200, '{"code": "' + "9" * 60 + '"}', "HTTP 200, code " + "9" * 60 + ": "),
        (200, '{"code": {"a": "' + "x" * 60 + '"}}', "HTTP 200, code " + str({"a": "x" * 60})[:40] + ": "),
        (200, '{"file": ""}', "finished answer has an unusable 'file' value"),
        (200, '{"error-file": 7}', "finished answer has an unusable 'error-file' value"),
    ],
)
def test_transient_answers_say_why(status: int, body: str, reason: str) -> None:
    assert classify(answer(status, body), NOW) == Transient(reason)


def test_systemic_and_key_answers_say_why() -> None:
    assert classify(answer(401, '{"code": 430}'), NOW) == Systemic(
        "430", "authorization failed for this key (HTTP 401, code 430)"
    )
    assert classify(answer(400, '{"code": "405"}'), NOW) == Systemic(
        "405", "method not supported (HTTP 400); the poller calls the API wrongly"
    )
    assert classify(answer(200, '{"code": "498"}'), NOW) == KeyRejected("HTTP 200, code 498: invalid or expired key")
    assert classify(answer(401, ""), NOW) == KeyRejected("HTTP 401, code None: invalid or expired key")


def test_a_failure_without_a_description_has_an_empty_one() -> None:
    assert classify(answer(200, '{"code": 3005}'), NOW) == Failed("3005", "")
    assert classify(answer(200, '{"code": 3005, "description": "' + "x" * 400 + '"}'), NOW) == Failed("3005", "x" * 300)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"error-file": "/e.csv"}', Finished(None, "/e.csv", None)),
        ('{"update-count": 0}', Finished(None, None, 0)),
        ('{"update-count": " 7 ", "file": " /f.json "}', Finished("/f.json", None, 7)),
        (
            '{"update-count": "' + "z" * 60 + '"}',
            Finished(None, None, None, f"update-count {'z' * 40!r} is not a non-negative whole number"),
        ),
    ],
)
def test_finished_answers_are_read_exactly(body: str, expected: Finished) -> None:
    assert classify(answer(200, body), NOW) == expected


def test_retry_after_in_another_zone_is_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")  # a local zone must not leak into a zoneless date
    time.tzset()
    try:
        assert parse_retry_after("Fri, 15 Jan 2027 09:00:10 +0100", NOW) == 10.0
        assert parse_retry_after("Fri, 15 Jan 2027 08:00:10 -0000", NOW) == 10.0
    finally:
        monkeypatch.undo()
        time.tzset()
