"""HTTPS on real networks (issue 17, item 14): HTTPS_PROXY / NO_PROXY are honoured (an https URL is tunnelled with
CONNECT, so the proxy never sees the Bearer key), a plain-http request carrying the key never goes through a proxy,
and the secret's `ca_bundle` lets the API and file hosts use a private CA. Against a real nginx (TLS with a CA made
in the test, gzip, redirects) and a CONNECT proxy on 127.0.0.1 (local/connect_proxy.py); skipped where nginx is not
installed; the same rules against a TLS listener in Python (tests/integration/raw_http.py), where nginx is not."""

from __future__ import annotations

import gzip
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.connect_proxy import ConnectProxy
from local.real_nginx import RealNginx, TestCa, missing_nginx
from local.simulator import FileSpec, Simulator, Step
from profile_poller.adapters.campaign_api import STATUS_PATH, CampaignApi, build_session
from profile_poller.adapters.secrets import parse_secret
from profile_poller.core.ports import Credentials, CredentialsError, TransportError
from profile_poller.core.streams import MeteredReader
from tests.conftest import API_KEY
from tests.integration.raw_http import RawServer, Seen, answer

WHY_NOT = missing_nginx()
needs_nginx = pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")
KEY = "key-that-must-not-cross-the-proxy-0123456789"
BODY = b"".join(b"%06d,profile,updated\r\n" % i for i in range(20_000))
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(scope="module")
def nginx() -> Iterator[RealNginx]:
    if WHY_NOT is not None:
        pytest.skip(WHY_NOT)
    with RealNginx() as server:
        status = server.root / STATUS_PATH.strip("/") / "req-1"
        status.parent.mkdir(parents=True)
        status.write_text('{"code": "1010"}')
        server.put("rows.csv", BODY)
        yield server


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectProxy]:
    for name in (*PROXY_VARIABLES, "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ConnectProxy() as running:
        yield running


def secret(base_url: str, ca: Path | None) -> Credentials:
    value = {"api_key": KEY, "base_url": base_url}
    if ca is not None:
        value["ca_bundle"] = ca.read_text()
    return parse_secret(json.dumps(value), "", allow_plain_http=False)


def api() -> CampaignApi:
    return CampaignApi(build_session(2), timeout_seconds=5.0)


def read_all(client: CampaignApi, path: str, creds: Credentials) -> bytes:
    with client.open_file(path, creds) as remote:
        reader = MeteredReader(remote, 10**8)
        return b"".join(iter(lambda: reader.read(64 * 1024), b""))


@needs_nginx
def test_a_private_ca_in_the_secret_is_trusted_for_the_api_and_its_files(nginx: RealNginx) -> None:
    # Given an API host whose certificate a private CA signed, and the CA in the secret's ca_bundle
    creds = secret(nginx.base_url, nginx.ca.ca_pem)
    client = api()
    # When the status is asked and a file is fetched through a redirect, gzip-encoded
    answer = client.query("req-1", creds)
    body = read_all(client, "/moved/rows.csv", creds)
    # Then both succeed over verified TLS, and the file arrives decoded, byte for byte
    assert answer.status == 200 and answer.body == b'{"code": "1010"}'
    assert body == BODY


@needs_nginx
def test_without_the_ca_the_private_certificate_is_not_trusted(nginx: RealNginx) -> None:
    with pytest.raises(TransportError, match=r"127\.0\.0\.1"):
        api().query("req-1", secret(nginx.base_url, None))


@needs_nginx
def test_https_proxy_is_honoured_and_sees_only_tls(
    nginx: RealNginx, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given HTTPS_PROXY names an http:// proxy
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    creds = secret(nginx.base_url, nginx.ca.ca_pem)
    client = api()
    # When the status is asked and a file fetched
    assert client.query("req-1", creds).status == 200
    assert read_all(client, "/files/rows.csv", creds) == BODY
    # Then both went through CONNECT tunnels to the API host, and the key never crossed the proxy readable
    assert set(proxy.tunnels) == {f"127.0.0.1:{nginx.port}"}
    assert KEY.encode() not in proxy.seen and b"Bearer" not in proxy.seen
    assert BODY[:200] not in proxy.seen and gzip.compress(BODY)[:50] not in proxy.seen


@needs_nginx
def test_no_proxy_sends_its_hosts_direct(
    nginx: RealNginx, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert api().query("req-1", secret(nginx.base_url, nginx.ca.ca_pem)).status == 200
    assert proxy.tunnels == [] and proxy.plain == []


def test_a_plain_http_request_carrying_the_key_never_goes_through_a_proxy(
    sim: Simulator, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a plain-http API (ALLOW_PLAIN_HTTP, local use) and HTTP_PROXY set
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    sim.script("req-2", Step.pending())
    client = CampaignApi(build_session(1), allow_plain_http=True, timeout_seconds=2.0)
    # When the status is asked
    answer = client.query("req-2", Credentials(API_KEY, sim.base_url))
    # Then it went direct: the proxy saw nothing, the key never reached it
    assert answer.status == 200
    assert proxy.plain == [] and proxy.tunnels == [] and API_KEY.encode() not in proxy.seen


@pytest.mark.parametrize(
    "bad",
    ["not a certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", 42],
    ids=["not-pem", "broken-pem", "not-text"],
)
def test_a_ca_bundle_that_is_not_pem_certificates_refuses_the_secret(bad: object) -> None:
    value = json.dumps({"api_key": KEY, "base_url": "https://tenant.example", "ca_bundle": bad})
    with pytest.raises(CredentialsError, match="ca_bundle"):
        parse_secret(value, "", allow_plain_http=False)


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[RawServer, Path]]:
    """An https API on 127.0.0.1 whose certificate a private CA signs (the CA's PEM file beside it): status
    answers under STATUS_PATH, the file rows.csv under /files/."""
    ca = TestCa(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(ca.cert_pem, ca.key_pem)

    def respond(seen: Seen) -> list[bytes]:
        if seen.path.startswith(STATUS_PATH):
            return [answer(200, b'{"code": "1010"}', [("Content-Type", "application/json")])]
        return [answer(200, BODY) if seen.path == "/files/rows.csv" else answer(404)]

    with RawServer(respond, tls=context) as server:
        yield server, ca.ca_pem


def test_a_private_ca_in_the_secret_is_trusted_for_the_status_call_and_files(tls: tuple[RawServer, Path]) -> None:
    # Given an https API whose certificate a private CA signs, and that CA in the secret's ca_bundle
    server, ca = tls
    creds = secret(server.url, ca)
    client = api()
    # When the status is asked and a file fetched, by path and by URL
    answered = client.query("req-1", creds)
    # Then both are read over verified TLS
    assert answered.status == 200 and answered.body == b'{"code": "1010"}'
    assert read_all(client, "/files/rows.csv", creds) == BODY
    assert read_all(client, f"{server.url}/files/rows.csv", creds) == BODY


def test_https_proxy_carries_the_status_call_in_a_tunnel(
    tls: tuple[RawServer, Path], proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given HTTPS_PROXY names an http:// proxy, and an https API
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    server, ca = tls
    # When the status is asked
    assert api().query("req-1", secret(server.url, ca)).status == 200
    # Then it went through a CONNECT tunnel to the API, and the proxy saw no key
    assert proxy.tunnels == [f"127.0.0.1:{server.port}"] and proxy.plain == []
    assert KEY.encode() not in proxy.seen and b"Bearer" not in proxy.seen


def test_a_plain_http_file_without_the_key_goes_through_http_proxy(
    sim: Simulator, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given ALLOW_PLAIN_HTTP, a plain-http files host in FILE_HOSTS, and HTTP_PROXY set
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    sim.add_file("p.csv", FileSpec(BODY))
    client = CampaignApi(build_session(1), frozenset({"localhost"}), allow_plain_http=True, timeout_seconds=2.0)
    # When the file is fetched, Then the request went to the proxy (which answers it 502), not to the host: only
    # a request carrying the key is kept off a proxy
    with pytest.raises(TransportError, match="HTTP 502"):
        read_all(client, sim.public_file_url("p.csv"), Credentials(API_KEY, sim.base_url))
    assert proxy.plain == [f"GET {sim.public_file_url('p.csv')} HTTP/1.1"] and sim.calls == []


def test_a_proxy_that_is_down_is_a_transient_failure_that_never_reaches_the_api_directly(
    tls: tuple[RawServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given HTTPS_PROXY names a proxy nobody listens on (the tenant's proxy is down)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed}")
    server, ca = tls
    # When the status is asked, Then it fails as a transient error naming the API host, without the key
    with pytest.raises(TransportError) as failed:
        api().query("req-1", secret(server.url, ca))
    assert "127.0.0.1" in str(failed.value) and KEY not in str(failed.value)
    # And the call was not sent around the proxy, straight to the API
    assert server.connections == 0 and server.requests == []
