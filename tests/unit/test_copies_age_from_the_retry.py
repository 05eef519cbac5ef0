"""After an operator `retry`, a failing file copy is retried within its bounds counted from the retry, not from
the original submission (issue 17, item 7)."""

from __future__ import annotations

from profile_poller.core.completion import retry_reason
from profile_poller.core.copier import Copied, Unsettled
from profile_poller.core.items import PendingRequest
from profile_poller.core.model import Kind
from profile_poller.core.ports import TransportError
from tests.unit.sweep_world import BASE

SUBMITTED = 1_700_000_000
RETRIED = SUBMITTED + 30 * 86_400  # a month later, long past MAX_AGE_SECONDS from the submission


def test_a_copy_failing_once_after_a_retry_is_retried_later() -> None:
    request = PendingRequest("r1", Kind.UPDATE, SUBMITTED, 1, 0, retries=1, retried_at=RETRIED)
    copied = Copied((), None, (Unsettled("file", "/f.csv", TransportError("reset")),))
    assert retry_reason(copied, request, RETRIED + 60, BASE) == "file copy failed (file): reset"


def test_past_max_age_from_the_retry_the_file_is_given_up() -> None:
    request = PendingRequest("r1", Kind.UPDATE, SUBMITTED, 1, 0, retries=1, retried_at=RETRIED)
    copied = Copied((), None, (Unsettled("file", "/f.csv", TransportError("reset")),))
    assert retry_reason(copied, request, RETRIED + BASE.max_age_seconds, BASE) is None
