"""What the HTTP client itself tries again (urllib3's Retry under build_session), over real sockets on 127.0.0.1: a
connection refused is tried three times in all, a fifth of a second apart at most, then reported; everything else
reaches the server once and comes back as it is (a read timeout, a reset, a certificate we do not trust, a 5xx or a
429, with or without Retry-After): what happens next is the sweep's decision, never a hidden wait or a second call."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.real_nginx import TestCa
from local.simulator import Simulator, Step
from profile_poller.adapters.campaign_api import CampaignApi, build_session
from profile_poller.core.classify import Throttled, classify
from profile_poller.core.ports import Credentials, TransportError
from tests.conftest import API_KEY
from tests.integration.raw_http import RawServer, answer


@pytest.fixture
def api() -> CampaignApi:
    return CampaignApi(build_session(4), allow_plain_http=True, timeout_seconds=1.0)


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the calling thread takes (the HTTP client's back-off between tries), recorded, not slept."""
    taken: list[float] = []
    caller, real_sleep = threading.current_thread(), time.sleep

    def sleep(seconds: float) -> None:
        if threading.current_thread() is caller:
            taken.append(seconds)
        else:
            real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    return taken


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every address a socket of this process tried to connect to."""
    tried: list[Any] = []
    connect: Callable[[socket.socket, Any], None] = socket.socket.connect

    def counted(self: socket.socket, address: Any) -> None:
        tried.append(address)
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", counted)
    return tried


def closed_port() -> int:
    """A port of 127.0.0.1 nobody listens on: a connection to it is refused."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return int(listener.getsockname()[1])


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_refused_connection_is_tried_three_times_a_fifth_of_a_second_apart_then_reported(
    api: CampaignApi, pauses: list[float], connects: list[Any], scheme: str
) -> None:
    # Given an API host where nothing listens
    port = closed_port()
    # When the status is asked
    with pytest.raises(TransportError) as caught:
        api.query("r1", Credentials(API_KEY, f"{scheme}://127.0.0.1:{port}"))
    # Then the connection was tried three times, with one short pause before the last try, and the failure names
    # what happened and where
    assert [address[1] for address in connects] == [port, port, port]
    assert pauses == [pytest.approx(0.2)]
    assert str(caught.value) == "ConnectionError talking to 127.0.0.1"


def test_a_status_call_that_times_out_reaching_the_server_is_not_sent_again(
    api: CampaignApi, sim: Simulator, pauses: list[float]
) -> None:
    # Given a server that takes the call and stays silent, and would answer a second call at once
    sim.script("r1", Step.hang(), Step.pending())
    # When the status is asked with a 1 s timeout
    with pytest.raises(TransportError) as caught:
        api.query("r1", Credentials(API_KEY, sim.base_url))
    # Then it is reported as a timeout: the call reached the server once, the client did not try it again
    assert str(caught.value) == "ReadTimeout talking to 127.0.0.1"
    assert sim.status_calls["r1"] == 1 and pauses == []


def test_a_status_call_reset_by_the_server_is_not_sent_again(api: CampaignApi, sim: Simulator) -> None:
    sim.script("r1", Step.reset(), Step.pending())
    with pytest.raises(TransportError, match=r"^ConnectionError talking to 127\.0\.0\.1$"):
        api.query("r1", Credentials(API_KEY, sim.base_url))
    assert sim.status_calls["r1"] == 1


@pytest.mark.parametrize(
    "step",
    [
        Step.error(500, 500, "Internal Server Error"),
        Step.raw(502, b"<html>Bad Gateway</html>"),
        Step("json", 503, {"code": 503, "description": "down for maintenance"}, (("Retry-After", "1"),)),
        Step.throttle(retry_after=1),
        Step.throttle(),
    ],
    ids=["500", "502", "503-retry-after", "429-retry-after", "429"],
)
def test_an_error_answer_comes_back_from_one_call_without_a_wait(
    api: CampaignApi, sim: Simulator, pauses: list[float], step: Step
) -> None:
    # Given a server answering an error, then a success to anyone asking again
    sim.script("r1", step, Step.pending())
    # When the status is asked
    response = api.query("r1", Credentials(API_KEY, sim.base_url))
    # Then the error answer itself comes back, from one call, with no pause: retrying is the sweep's call
    assert response.status == step.status and sim.status_calls["r1"] == 1 and pauses == []


def test_a_429_comes_back_with_its_retry_after_for_the_sweep(api: CampaignApi, sim: Simulator) -> None:
    sim.script("r1", Step.throttle(retry_after=7))
    response = api.query("r1", Credentials(API_KEY, sim.base_url))
    assert classify(response, now=100.0) == Throttled(retry_after=7.0)


@pytest.fixture
def untrusted(tmp_path: Path) -> Iterator[RawServer]:
    """An https server whose certificate a CA made on the spot signs (a private CA the poller was not given)."""
    ca = TestCa(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ca.cert_pem, ca.key_pem)
    with RawServer(lambda seen: [answer(200, b'{"code": "1010"}')], tls=context) as server:
        yield server


def test_a_certificate_that_is_not_trusted_is_refused_at_the_first_handshake(
    api: CampaignApi, untrusted: RawServer, pauses: list[float]
) -> None:
    with pytest.raises(TransportError) as caught:
        api.query("r1", Credentials(API_KEY, untrusted.url))
    untrusted.finished()
    assert str(caught.value) == "SSLError talking to 127.0.0.1"
    assert untrusted.connections == 1 and untrusted.requests == [] and pauses == []
