"""When a finished request whose file copy failed is asked again, or completes with the file given up: the age
limit at its boundary and the limit that applies to a file that is there but failed (MAX_TRANSIENT_ERRORS)."""

from __future__ import annotations

from profile_poller.core.completion import retry_reason
from profile_poller.core.copier import Copied, Unsettled
from profile_poller.core.items import PendingRequest
from profile_poller.core.model import Kind
from profile_poller.core.ports import FileMissing, TransportError
from profile_poller.core.settings import Settings

SETTINGS = Settings(
    table_name="t",
    bucket_name="b",
    topic_arn="arn:topic",
    secret_id="s",
    max_age_seconds=1000,
    file_not_found_tries=2,
    max_transient_errors=5,
)
SUBMITTED = 1_800_000_000


def request(transient_errors: int = 0) -> PendingRequest:
    return PendingRequest("r1", Kind.UPDATE, SUBMITTED, 3, transient_errors)


def failed(error: TransportError) -> Copied:
    return Copied((), None, (Unsettled("file", "/files/a.csv", error),))


def test_a_failed_copy_is_retried_until_max_age_and_given_up_at_it() -> None:
    copied = failed(TransportError("reset"))
    assert retry_reason(copied, request(), SUBMITTED + 999, SETTINGS) == "file copy failed (file): reset"
    assert retry_reason(copied, request(), SUBMITTED + 1000, SETTINGS) is None
    assert retry_reason(copied, request(), SUBMITTED + 5000, SETTINGS) is None


def test_a_file_that_is_there_but_failed_is_retried_up_to_max_transient_errors_not_file_not_found_tries() -> None:
    copied = failed(TransportError("reset"))
    assert retry_reason(copied, request(transient_errors=3), SUBMITTED, SETTINGS) == "file copy failed (file): reset"
    assert retry_reason(copied, request(transient_errors=4), SUBMITTED, SETTINGS) is None


def test_a_missing_file_is_retried_up_to_file_not_found_tries() -> None:
    copied = failed(FileMissing("404"))
    assert retry_reason(copied, request(transient_errors=0), SUBMITTED, SETTINGS) == "file copy failed (file): 404"
    assert retry_reason(copied, request(transient_errors=1), SUBMITTED, SETTINGS) is None
