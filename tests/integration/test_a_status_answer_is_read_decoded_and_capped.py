"""The status call reads its answer decoded (the client accepts gzip, so a server may send it) and with a cap: an
answer of MAX_STATUS_BODY bytes is read, a longer one is a transient error naming the host, and one that never
ends is cut off at the cap, not read into the function's memory."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest

from local.simulator import Simulator, Step
from profile_poller.adapters.campaign_api import MAX_STATUS_BODY, CampaignApi, build_session
from profile_poller.core.classify import Finished, Pending, classify
from profile_poller.core.ports import Credentials, TransportError
from tests.conftest import API_KEY
from tests.integration.raw_http import RawServer, Seen

ENDLESS = 64 * 1024 * 1024  # what the endless server would send, had it a reader


@pytest.fixture
def api() -> CampaignApi:
    return CampaignApi(build_session(1), allow_plain_http=True, timeout_seconds=5.0)


def test_a_gzip_encoded_answer_is_read_decoded(api: CampaignApi, sim: Simulator) -> None:
    packed = gzip.compress(json.dumps({"update-count": 12}).encode())
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    sim.script("r1", Step("raw", 200, packed, headers))
    response = api.query("r1", Credentials(API_KEY, sim.base_url))
    assert classify(response, 0) == Finished(None, None, 12)


def test_an_answer_of_exactly_the_cap_is_read(api: CampaignApi, sim: Simulator) -> None:
    pending = b'{"code": "1010", "description": "The request was not processed."}'
    body = pending.ljust(MAX_STATUS_BODY)  # JSON may end in blanks
    sim.script("r1", Step.raw(200, body, "application/json"))
    response = api.query("r1", Credentials(API_KEY, sim.base_url))
    assert len(response.body) == MAX_STATUS_BODY and classify(response, 0) == Pending()


def test_an_answer_one_byte_over_the_cap_is_a_transient_error_naming_the_host(api: CampaignApi, sim: Simulator) -> None:
    sim.script("r1", Step.raw(200, b" " * (MAX_STATUS_BODY + 1), "application/json"))
    with pytest.raises(TransportError) as caught:
        api.query("r1", Credentials(API_KEY, sim.base_url))
    assert str(caught.value) == f"status answer over {MAX_STATUS_BODY} bytes from 127.0.0.1"


def endless(seen: Seen) -> Iterator[bytes]:
    yield b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    piece = b" " * 65536
    for _ in range(ENDLESS // len(piece)):
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def test_an_answer_that_never_ends_is_cut_off_at_the_cap(api: CampaignApi) -> None:
    # Given a server that streams an answer with no announced length, on and on
    with RawServer(endless) as server:
        # When the status is asked, Then the answer is refused past the cap
        with pytest.raises(TransportError, match="over"):
            api.query("r1", Credentials(API_KEY, server.url))
        server.finished()
    # and the poller hung up: the server got out little more than the cap (what the sockets' buffers held)
    assert server.sent < ENDLESS // 4
