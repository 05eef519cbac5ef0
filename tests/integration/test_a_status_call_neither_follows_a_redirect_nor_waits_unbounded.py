"""The status call carries the Bearer key, so it never follows a redirect (the answer is classified as it is), and
it never waits longer than its timeout on a server that accepted it and went silent (simulator over HTTP)."""

from __future__ import annotations

import time

import pytest

from local.simulator import STATUS_PREFIX, Simulator, Step
from profile_poller.adapters.campaign_api import CampaignApi, build_session
from profile_poller.core.ports import Credentials, TransportError
from tests.conftest import API_KEY


@pytest.fixture
def api() -> CampaignApi:
    return CampaignApi(build_session(4), frozenset({"localhost"}), allow_plain_http=True, timeout_seconds=1.0)


def test_a_redirected_status_call_is_answered_with_the_redirect_not_followed(api: CampaignApi, sim: Simulator) -> None:
    # Given a status answer redirecting to another request's status, which would say COMPLETED
    sim.script("elsewhere", Step.done_update(1, None))
    moved = Step("json", 302, {"code": 302, "description": "moved"}, (("Location", f"{STATUS_PREFIX}elsewhere"),))
    sim.script("moved", moved)
    # When the poller asks, then the answer is the 302 itself, and only one call reached the server
    response = api.query("moved", Credentials(API_KEY, sim.base_url))
    assert response.status == 302
    assert [call.path.rsplit("/", 1)[-1] for call in sim.calls] == ["moved"]


def test_a_silent_status_call_ends_at_its_timeout(api: CampaignApi, sim: Simulator) -> None:
    # Given a server that takes the call and answers nothing for 30 s
    sim.script("silent", Step.hang())
    started = time.monotonic()
    # When the poller asks with a 1 s timeout, then it gives up as a transport error well before the server would
    with pytest.raises(TransportError):
        api.query("silent", Credentials(API_KEY, sim.base_url))
    assert time.monotonic() - started < 10
