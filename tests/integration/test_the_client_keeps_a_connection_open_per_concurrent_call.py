"""The HTTP client keeps one connection open per status call a sweep makes at once (CONCURRENCY, build_session's
pool size), so the next sweep's calls reuse them instead of opening new ones (a TCP and TLS handshake each); a call
beyond that still goes out at once, on a connection of its own that is closed afterwards."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from profile_poller.adapters.campaign_api import CampaignApi, build_session
from profile_poller.core.ports import Credentials
from tests.conftest import API_KEY
from tests.integration.raw_http import RawServer, answer

PENDING = answer(200, b'{"code": "1010", "description": "The request was not processed."}')


@pytest.mark.parametrize("concurrency", [1, 3])
def test_one_call_more_than_concurrency_at_once_opens_one_connection_more_each_time(concurrency: int) -> None:
    # Given a server that answers only once CONCURRENCY + 1 status calls are in flight together
    in_flight = concurrency + 1
    with RawServer(lambda seen: [PENDING], hold=threading.Barrier(in_flight)) as server:
        api = CampaignApi(build_session(concurrency), allow_plain_http=True, timeout_seconds=10.0)
        credentials = Credentials(API_KEY, server.url)
        # When that many calls go out at once, twice in a row
        with ThreadPoolExecutor(in_flight) as pool:
            for round_ in range(2):
                ids = [f"r{round_}-{n}" for n in range(in_flight)]
                answers = list(pool.map(lambda rid: api.query(rid, credentials), ids))
                assert [response.status for response in answers] == [200] * in_flight
    # Then the first round opened a connection per call and the client kept CONCURRENCY of them: the second
    # round reused those and opened one more
    assert server.connections == in_flight + 1
    assert len(server.requests) == 2 * in_flight
