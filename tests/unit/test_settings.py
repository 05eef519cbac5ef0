"""Every environment variable reaches its setting and the defaults match the documented table; a missing
required variable or a bad value is named, and a base URL is accepted only as documented. The bounds of each setting
are in test_setting_bounds.py."""

from __future__ import annotations

import pytest

from profile_poller.core.settings import check_base_url
from profile_poller.core.shards import MAX_DUE_SHARDS
from profile_poller.entry.config import (
    ConfigError,
    RegisterSettings,
    Settings,
    load_due_shards,
    load_register_settings,
    load_settings,
    load_stack_name,
    load_table_name,
)

REQUIRED = {"TABLE_NAME": "t", "BUCKET_NAME": "b", "TOPIC_ARN": "arn:aws:sns:eu-west-1:1:t", "SECRET_ID": "s"}


def test_every_variable_is_read_into_its_setting() -> None:
    env = {
        "TABLE_NAME": " requests ",
        "BUCKET_NAME": "archive",
        "TOPIC_ARN": "arn:aws:sns:eu-west-1:1:outcomes",
        "SECRET_ID": "api-key",
        "ARCHIVE_PREFIX": " /audit/profiles/ ",
        "API_BASE_URL": " https://tenant.example/ ",
        "FILE_HOSTS": "files.example",
        "ALLOW_PLAIN_HTTP": "yes",
        "CONCURRENCY": "3",
        "RATE_LIMIT_PER_SECOND": "2.5",
        "BACKOFF_BASE_SECONDS": "5",
        "BACKOFF_MAX_SECONDS": "50",
        "MAX_AGE_SECONDS": "3600",
        "MAX_TRANSIENT_ERRORS": "4",
        "LEASE_SECONDS": "120",
        "TIME_MARGIN_SECONDS": "7",
        "RETENTION_DAYS": "2",
        "DUE_SHARDS": "6",
        "MAX_FILE_BYTES": "1000",
        "HTTP_TIMEOUT_SECONDS": "2.5",
    }
    assert load_settings(env) == Settings(
        table_name="requests",
        bucket_name="archive",
        topic_arn="arn:aws:sns:eu-west-1:1:outcomes",
        secret_id="api-key",
        archive_prefix="audit/profiles",
        api_base_url="https://tenant.example",
        file_hosts=frozenset({"files.example"}),
        allow_plain_http=True,
        concurrency=3,
        rate_limit_per_second=2.5,
        backoff_base_seconds=5.0,
        backoff_max_seconds=50.0,
        max_age_seconds=3600,
        max_transient_errors=4,
        lease_seconds=120,
        time_margin_seconds=7,
        retention_days=2,
        due_shards=6,
        max_file_bytes=1000,
        http_timeout_seconds=2.5,
    )


def test_blank_values_take_the_defaults() -> None:
    names = ["CONCURRENCY", "RATE_LIMIT_PER_SECOND", "ALLOW_PLAIN_HTTP", "HTTP_TIMEOUT_SECONDS", "MAX_FILE_BYTES"]
    assert load_settings({**REQUIRED, **dict.fromkeys(names, "  ")}) == load_settings(REQUIRED)
    assert load_settings({**REQUIRED, "ARCHIVE_PREFIX": "/"}).archive_prefix == "profile-requests"
    assert load_settings(REQUIRED).http_timeout_seconds == 10.0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CONCURRENCY", "1.5", "CONCURRENCY must be a whole number, got '1.5'"),
        ("RATE_LIMIT_PER_SECOND", "fast", "RATE_LIMIT_PER_SECOND must be a number, got 'fast'"),
        ("RATE_LIMIT_PER_SECOND", "nan", "RATE_LIMIT_PER_SECOND must be a finite number, got 'nan'"),
        ("ALLOW_PLAIN_HTTP", "maybe", "ALLOW_PLAIN_HTTP must be true or false, got 'maybe'"),
        ("FILE_HOSTS", "a.example, .evil.example", "bare host names without scheme or port, got '.evil.example'"),
        ("FILE_HOSTS", "user@files.example", "got 'user@files.example'"),
        ("FILE_HOSTS", "files example", "got 'files example'"),
        ("FILE_HOSTS", "files.example/x", "got 'files.example/x'"),
    ],
)
def test_bad_values_are_refused_with_the_variable_and_the_value(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**REQUIRED, name: value})
    assert message in str(caught.value)


@pytest.mark.parametrize(("raw", "expected"), [("TRUE", True), ("1", True), ("Yes", True), ("0", False), ("no", False)])
def test_allow_plain_http_spellings(raw: str, expected: bool) -> None:
    assert load_settings({**REQUIRED, "ALLOW_PLAIN_HTTP": raw}).allow_plain_http is expected


def test_required_values_are_stripped_and_blank_ones_named() -> None:
    with pytest.raises(ConfigError, match=r"^TABLE_NAME is required and is not set$"):
        load_settings({**REQUIRED, "TABLE_NAME": "   "})
    assert load_table_name({"TABLE_NAME": " t1 "}) == "t1"
    with pytest.raises(ConfigError, match="TABLE_NAME"):
        load_table_name({})


def test_file_hosts_are_lower_cased_and_empty_entries_skipped() -> None:
    assert load_settings({**REQUIRED, "FILE_HOSTS": ",A.Example,,b.example ,"}).file_hosts == {"a.example", "b.example"}


@pytest.mark.parametrize(
    ("url", "allow_http", "expected"),
    [
        ("https://t.example", False, "https://t.example"),
        (" https://t.example:8443/api/ ", False, "https://t.example:8443/api"),
        ("http://127.0.0.1:8080", True, "http://127.0.0.1:8080"),
    ],
)
def test_base_urls_accepted_and_normalised(url: str, allow_http: bool, expected: str) -> None:
    assert check_base_url(url, allow_http, "API_BASE_URL") == expected


@pytest.mark.parametrize(
    ("url", "allow_http", "message"),
    [
        ("http://t.example", False, "API_BASE_URL must be an https URL such as https://tenant.webexcampaign.io"),
        ("ftp://t.example", True, "API_BASE_URL must be an http(s) URL such as https://tenant.webexcampaign.io"),
        ("https://", False, "API_BASE_URL must be an https URL"),
        ("t.example", False, "API_BASE_URL must be an https URL"),
        ("https://t.example/?a=1", False, "API_BASE_URL must not carry credentials, a query or a fragment"),
        ("https://t.example/#top", False, "API_BASE_URL must not carry"),
        ("https://user@t.example", False, "API_BASE_URL must not carry"),
        ("https://:pw@t.example", False, "API_BASE_URL must not carry"),
    ],
)
def test_base_urls_refused_with_the_reason(url: str, allow_http: bool, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_base_url(url, allow_http, "API_BASE_URL")
    assert str(caught.value).startswith(message)


def test_the_process_environment_is_read_when_no_mapping_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**REQUIRED, "DUE_SHARDS": "3", "TABLE_NAME": "from-env"}.items():
        monkeypatch.setenv(name, value)
    assert load_settings().table_name == "from-env" and load_table_name() == "from-env"
    assert load_due_shards() == 3 and load_due_shards({"DUE_SHARDS": "1"}) == 1


def test_the_outcome_bus_and_the_stack_name_are_read_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings({**REQUIRED, "OUTCOME_BUS_NAME": " outcomes\n"}).outcome_bus_name == "outcomes"
    assert load_settings(REQUIRED).outcome_bus_name == ""  # no bus: outcomes leave by the topic alone
    monkeypatch.setenv("STACK_NAME", " poller-prod ")
    assert load_stack_name() == "poller-prod"


def test_messages_start_with_the_variable_name() -> None:
    with pytest.raises(ConfigError) as base:
        load_settings({**REQUIRED, "API_BASE_URL": "http://plain.example"})
    assert str(base.value).startswith("API_BASE_URL must be an https URL")
    with pytest.raises(ConfigError, match=r"^BACKOFF_MAX_SECONDS must not be below BACKOFF_BASE_SECONDS$"):
        load_settings({**REQUIRED, "BACKOFF_BASE_SECONDS": "10", "BACKOFF_MAX_SECONDS": "5"})


def test_false_spelled_out_and_edge_characters_of_prefix_and_url_are_kept() -> None:
    assert load_settings({**REQUIRED, "ALLOW_PLAIN_HTTP": "False"}).allow_plain_http is False
    assert load_settings({**REQUIRED, "ARCHIVE_PREFIX": "/Xray/"}).archive_prefix == "Xray"
    assert check_base_url("https://t.example/X/", False, "API_BASE_URL") == "https://t.example/X"


def test_the_registration_function_reads_its_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"TABLE_NAME": " t ", "REJECTED_QUEUE_URL": " https://sqs/q ", "DUE_SHARDS": "4"}
    assert load_register_settings(env) == RegisterSettings("t", "https://sqs/q", 4)
    assert load_register_settings({"TABLE_NAME": "t", "REJECTED_QUEUE_URL": "q"}).due_shards == 1
    for missing in ("TABLE_NAME", "REJECTED_QUEUE_URL"):
        with pytest.raises(ConfigError, match=rf"^{missing} is required"):
            load_register_settings({k: v for k, v in env.items() if k != missing})
    for bad in ("0", str(MAX_DUE_SHARDS + 1)):
        with pytest.raises(ConfigError, match=r"^DUE_SHARDS must be"):
            load_register_settings({**env, "DUE_SHARDS": bad})
    assert load_register_settings({**env, "DUE_SHARDS": str(MAX_DUE_SHARDS)}).due_shards == MAX_DUE_SHARDS
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert load_register_settings() == RegisterSettings("t", "https://sqs/q", 4)


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
