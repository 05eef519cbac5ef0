"""Settings from the environment, request-id validation, archive keys, lenient item parsing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from profile_poller.core.items import PendingRequest
from profile_poller.core.model import InvalidRequestId, Kind, archive_key, validate_request_id
from profile_poller.entry.config import ConfigError, load_due_shards, load_settings

REQUIRED = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "TOPIC_ARN": "arn:aws:sns:eu-west-1:1:t", "SECRET_ID": "s"}


def test_defaults_match_the_documented_table() -> None:
    s = load_settings(REQUIRED)
    assert (s.archive_prefix, s.api_base_url, s.file_hosts, s.allow_plain_http) == (
        "profile-requests",
        "",
        frozenset(),
        False,
    )
    assert (s.concurrency, s.rate_limit_per_second, s.backoff_base_seconds, s.backoff_max_seconds) == (8, 10, 30, 1800)
    assert (s.max_age_seconds, s.max_transient_errors, s.lease_seconds, s.time_margin_seconds) == (172800, 10, 960, 30)
    assert (s.retention_days, s.due_shards, s.max_file_bytes) == (90, 1, 5 * 1024**3)


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_missing_required_variable_is_named(missing: str) -> None:
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CONCURRENCY", "lots"),
        ("CONCURRENCY", "0"),
        ("ALLOW_PLAIN_HTTP", "maybe"),
        ("RATE_LIMIT_PER_SECOND", "nan"),
        ("API_BASE_URL", "http://plain.example"),
        ("API_BASE_URL", "https://user:pw@x.example"),
        ("FILE_HOSTS", "https://files.example"),
        ("FILE_HOSTS", "files.example:443"),
    ],
)
def test_invalid_values_are_named(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({**REQUIRED, name: value})


@pytest.mark.parametrize("name", ["DUE_SHARDS", "LEASE_SECONDS", "MAX_TRANSIENT_ERRORS", "RETENTION_DAYS"])
def test_zero_is_refused_where_it_would_stop_the_poller(name: str) -> None:
    # 0 shards polls nothing, a 0 s lease protects nothing, 0 errors fails at once, 0 days deletes at once
    with pytest.raises(ConfigError, match=f"{name} must be at least 1, got 0"):
        load_settings({**REQUIRED, name: "0"})
    assert getattr(load_settings({**REQUIRED, name: "1"}), name.lower()) == 1  # 1 is the smallest allowed


def test_due_shards_for_the_producer_cli_are_checked_too() -> None:
    with pytest.raises(ConfigError, match="DUE_SHARDS"):
        load_due_shards({"DUE_SHARDS": "0"})
    assert load_due_shards({}) == 1 and load_due_shards({"DUE_SHARDS": "4"}) == 4


def test_backoff_max_below_base_is_refused() -> None:
    with pytest.raises(ConfigError, match="BACKOFF_MAX_SECONDS must not be below BACKOFF_BASE_SECONDS"):
        load_settings({**REQUIRED, "BACKOFF_BASE_SECONDS": "60", "BACKOFF_MAX_SECONDS": "59.5"})
    equal = load_settings({**REQUIRED, "BACKOFF_BASE_SECONDS": "60", "BACKOFF_MAX_SECONDS": "60"})
    assert (equal.backoff_base_seconds, equal.backoff_max_seconds) == (60, 60)


def test_plain_http_base_only_when_allowed_and_hosts_are_normalised() -> None:
    s = load_settings(
        {
            **REQUIRED,
            "API_BASE_URL": "http://127.0.0.1:8080/",
            "ALLOW_PLAIN_HTTP": "true",
            "FILE_HOSTS": " Files.Example , cdn.example,",
        }
    )
    assert s.api_base_url == "http://127.0.0.1:8080"
    assert s.file_hosts == frozenset({"files.example", "cdn.example"})


@pytest.mark.parametrize("rid", ["abc", "A1-b_2.c", "0" * 128, "9f8e7d6c-5b4a-3f2e-1d0c-bbbbbbbbbbbb"])
def test_valid_request_ids(rid: str) -> None:
    assert validate_request_id(rid) == rid


@pytest.mark.parametrize(
    "rid", ["", ".", "..", "../x", "a/b", "a?b", "a#b", "a b", "a%2F", "-x", "x" * 129, "x" * 10_000, "é", 42, None]
)
def test_invalid_request_ids(rid: object) -> None:
    with pytest.raises(InvalidRequestId):
        validate_request_id(rid)


def test_archive_keys_are_deterministic_and_dated_by_submission() -> None:
    submitted = 1_798_761_600  # 2027-01-01T00:00:00Z
    assert archive_key("p", "r1", submitted, "error-file", "/x/anything.txt") == "p/2027/01/01/r1/error-file.csv"
    assert archive_key("p", "r1", submitted, "file", "https://h/a/b/Profiles.JSON?sig=1") == "p/2027/01/01/r1/file.json"
    assert archive_key("p", "r1", submitted, "file", "/a/b/noext") == "p/2027/01/01/r1/file"
    assert archive_key("p", "r1", submitted, "file", "/a/b/weird.<script>") == "p/2027/01/01/r1/file"


def test_hand_written_items_are_read_leniently() -> None:
    item = {
        "request_id": "r1",
        "kind": "UPDATE",
        "submitted_at": "123",
        "attempts": Decimal(4),
        "transient_errors": "lots",
    }
    request = PendingRequest.from_item(item, now=999)
    assert (request.kind, request.submitted_at, request.attempts, request.transient_errors) == (Kind.UPDATE, 123, 4, 0)
    assert PendingRequest.from_item({"request_id": "r2", "kind": "other"}, now=999).kind is Kind.UNKNOWN
    assert PendingRequest.from_item({"request_id": "r3"}, now=999).submitted_at == 999


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


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("e.csv", "file.csv"),
        ("/out/a.csv", "file.csv"),
        ("/out/report.2027.CSV", "file.csv"),
        ("/out/.hidden", "file"),
        ("/out/x.json", "file.json"),
        ("/v1.2/report", "file"),
        ("https://h/a.b/c", "file"),
    ],
)
def test_the_archived_file_keeps_only_a_plain_extension(source: str, name: str) -> None:
    assert archive_key("p", "r1", 1_798_761_600, "file", source) == f"p/2027/01/01/r1/{name}"


def test_odd_numbers_on_an_item_fall_back_to_defaults() -> None:
    item = {
        "request_id": "r1",
        "attempts": Decimal("NaN"),
        "transient_errors": Decimal("Infinity"),
        "submitted_at": True,
    }
    request = PendingRequest.from_item(item, now=999)
    assert (request.attempts, request.transient_errors, request.submitted_at) == (0, 0, 999)
    assert PendingRequest.from_item({"request_id": "r1", "attempts": -3, "submitted_at": 5.9}, now=1).attempts == 0
    assert PendingRequest.from_item({"request_id": "r1", "submitted_at": 5.9}, now=1).submitted_at == 5


def test_an_invalid_request_id_of_41_characters_is_shown_cut() -> None:
    with pytest.raises(InvalidRequestId) as caught:
        validate_request_id("/" + "x" * 40)
    assert str(caught.value).startswith(f"invalid request-id {'/' + 'x' * 39 + '...'!r}: use")
