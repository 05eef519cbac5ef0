"""Settings at their edges: the lease checked against the function timeout to the millisecond, and the whole
message an operator reads when it is too short."""

from __future__ import annotations

from dataclasses import replace

import pytest

from profile_poller.entry.config import ConfigError, Settings, check_lease

SETTINGS = Settings(table_name="t", bucket_name="b", topic_arn="arn:t", secret_id="s")


def test_a_timeout_one_millisecond_past_the_lease_is_refused() -> None:
    # Given a lease of 900 s and an invocation that starts with 900.001 s left (the timeout rounds up to 901 s)
    # When the lease is checked, Then it is refused, and the message tells the operator what to set
    with pytest.raises(ConfigError) as refused:
        check_lease(replace(SETTINGS, lease_seconds=900), remaining_ms=900_001)
    assert str(refused.value) == (
        "LEASE_SECONDS=900 is below the function timeout (901 s, the time left as the invocation started): "
        "a claim must outlast the sweep holding it (set LeaseSeconds >= FunctionTimeout)"
    )
