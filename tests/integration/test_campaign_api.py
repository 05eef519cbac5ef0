"""CampaignApi against the simulator over real HTTP: auth scope, host allow-list, redirects, broken bodies."""

from __future__ import annotations

import hashlib
import traceback
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from local.simulator import STATUS_PREFIX, FileSpec, Simulator, Step
from profile_poller.adapters.campaign_api import CampaignApi, build_session
from profile_poller.core.classify import Finished, Pending, classify
from profile_poller.core.ports import Credentials, FileMissing, FilePermission, FileRefused, TransportError
from profile_poller.core.streams import MeteredReader
from tests.conftest import API_KEY, Stranger
from tests.integration.raw_http import RawServer, Seen, answer

BODY = b'Code,Description,Index\r\n3005,"x",1\r\n' * 100


@pytest.fixture
def api() -> CampaignApi:
    return CampaignApi(build_session(4), frozenset({"localhost"}), allow_plain_http=True, timeout_seconds=1.0)


@pytest.fixture
def creds(sim: Simulator) -> Credentials:
    return Credentials(API_KEY, sim.base_url)


def read_all(api: CampaignApi, path: str, creds: Credentials, cap: int = 10**9) -> bytes:
    with api.open_file(path, creds) as remote:
        reader = MeteredReader(remote, cap)
        return b"".join(iter(lambda: reader.read(1000), b""))


def test_status_call_sends_the_bearer_key_and_reads_the_answer(
    api: CampaignApi, sim: Simulator, creds: Credentials
) -> None:
    sim.script("req-1", Step.pending())
    response = api.query("req-1", creds)
    assert classify(response, 0) == Pending()
    [call] = sim.calls
    assert call.path == "/campaignapi/resources/v3/profilequerystatus/req-1"
    assert call.authorization == f"Bearer {API_KEY}"


def test_relative_file_comes_from_the_api_origin_with_the_key(
    api: CampaignApi, sim: Simulator, creds: Credentials
) -> None:
    sim.add_file("e.csv", FileSpec(BODY))
    assert read_all(api, sim.api_file_path("e.csv"), creds) == BODY
    assert sim.calls[-1].authorization == f"Bearer {API_KEY}"


def test_the_status_call_goes_out_as_the_api_documents_it(api: CampaignApi) -> None:
    with RawServer(lambda seen: [answer(200, b'{"code": "1010"}')]) as server:
        api.query("req-1", Credentials(API_KEY, server.url))
    [seen] = server.requests
    assert seen.line == f"GET {STATUS_PREFIX}req-1 HTTP/1.1"
    assert seen.headers["authorization"] == f"Bearer {API_KEY}"
    assert seen.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "value",
    ["/campaignapi/resources/v3/files/e.csv", "campaignapi/resources/v3/files/e.csv", "Xport/e.csv"],
)
def test_a_relative_file_is_asked_for_at_its_path_under_the_api_origin(api: CampaignApi, value: str) -> None:
    # Given a file value that is a path, with a leading slash or without
    def respond(seen: Seen) -> list[bytes]:
        return [answer(200, BODY)]

    with RawServer(respond) as server:
        assert read_all(api, value, Credentials(API_KEY, server.url)) == BODY
    # Then the request line names that path with one leading slash, as the server must see it
    [seen] = server.requests
    assert seen.line == f"GET /{value.lstrip('/')} HTTP/1.1"


def test_absolute_file_on_another_host_gets_no_key(api: CampaignApi, sim: Simulator, creds: Credentials) -> None:
    sim.add_file("p.csv", FileSpec(BODY))
    assert read_all(api, sim.public_file_url("p.csv"), creds) == BODY
    assert sim.calls[-1].authorization is None and sim.calls[-1].host.startswith("localhost")


def test_a_netrc_never_lends_its_credentials_to_a_download(
    api: CampaignApi, sim: Simulator, creds: Credentials, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a .netrc with a login for the files host
    netrc = tmp_path / "netrc"
    netrc.write_text("machine localhost login someone password not-for-the-files-host\n")
    monkeypatch.setenv("NETRC", str(netrc))
    sim.add_file("p.csv", FileSpec(BODY))
    # When a file is fetched from that host, Then the request carries no credentials at all
    assert read_all(api, sim.public_file_url("p.csv"), creds) == BODY
    assert sim.calls[-1].authorization is None


@pytest.mark.parametrize("differs", ["port", "scheme"])
def test_the_key_goes_to_the_api_origin_only_not_to_its_host_on_another_port_or_scheme(
    api: CampaignApi, sim: Simulator, differs: str
) -> None:
    # Given a file on the API's own host name, 127.0.0.1, but on the file listener's port
    sim.add_file("p.csv", FileSpec(BODY))
    port = urlsplit(sim.file_host_url).port
    file_url = f"http://127.0.0.1:{port}/public/p.csv"
    # ... while the API origin is http://127.0.0.1 on another port, or https://127.0.0.1 on that same port
    base_url = sim.base_url if differs == "port" else f"https://127.0.0.1:{port}"
    # When it is downloaded
    assert read_all(api, file_url, Credentials(API_KEY, base_url)) == BODY
    # Then the request carried no key: the origin is scheme, host AND port
    [call] = sim.calls
    assert call.path == "/public/p.csv" and call.authorization is None


@pytest.mark.parametrize(
    "path",
    [
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "ftp://localhost/x",
        "sftp://tenant/x.csv",
        "//evil.example/x",
        "/campaignapi/resources/v3/files/../../../etc/passwd",
        "/campaignapi/resources/v3/files/%2e%2e/secret",
        "http://user:pw@localhost/x",
    ],
)
def test_paths_off_the_policy_are_refused_before_any_request(
    api: CampaignApi, sim: Simulator, creds: Credentials, path: str
) -> None:
    with pytest.raises(FileRefused), api.open_file(path, creds):
        pass
    assert sim.calls == []


def test_plain_http_is_refused_unless_allowed(sim: Simulator, creds: Credentials) -> None:
    sim.add_file("x", FileSpec(BODY))
    # Refused without ALLOW_PLAIN_HTTP: no request is made
    strict = CampaignApi(build_session(1), frozenset({"localhost"}), allow_plain_http=False)
    with pytest.raises(FileRefused, match="scheme"), strict.open_file(sim.public_file_url("x"), creds):
        pass
    assert sim.calls == []
    # Allowed with it: the same file is read
    lenient = CampaignApi(build_session(1), frozenset({"localhost"}), allow_plain_http=True)
    assert read_all(lenient, sim.public_file_url("x"), creds) == BODY
    assert [c.path for c in sim.calls] == [urlsplit(sim.public_file_url("x")).path]


def test_redirect_off_the_list_is_refused(
    api: CampaignApi, sim: Simulator, creds: Credentials, stranger: Stranger
) -> None:
    # Given an allowed host that redirects to a listener on no list (127.0.0.2)
    url = f"{sim.file_host_url}/redirect?to={stranger.url}/latest/meta-data/"
    # When the file is opened, Then it is refused naming the host, and the other listener never hears a thing
    with pytest.raises(FileRefused, match=r"127\.0\.0\.2"), api.open_file(url, creds):
        pass
    assert stranger.requests == []
    assert [c.path for c in sim.calls] == [url.removeprefix(sim.file_host_url)]


def test_redirect_within_the_list_is_followed_without_the_key(
    api: CampaignApi, sim: Simulator, creds: Credentials
) -> None:
    sim.add_file("p.csv", FileSpec(BODY))
    url = f"{sim.file_host_url}/redirect?to={sim.public_file_url('p.csv')}"
    assert read_all(api, url, creds) == BODY
    assert all(c.authorization is None for c in sim.calls)


@pytest.mark.parametrize("fault", ["truncate", "reset"])
@pytest.mark.parametrize("encoding", ["length", "chunked", "gzip"])
def test_broken_downloads_raise_transport_errors(
    api: CampaignApi, sim: Simulator, creds: Credentials, fault: str, encoding: str
) -> None:
    sim.add_file("e.csv", FileSpec(BODY * 50, faults=[fault], chunked=encoding == "chunked", gzip=encoding == "gzip"))
    with pytest.raises(TransportError) as caught:
        read_all(api, sim.api_file_path("e.csv"), creds)
    assert API_KEY not in "".join(traceback.format_exception(caught.value))


def test_file_server_error_is_transient(api: CampaignApi, sim: Simulator, creds: Credentials) -> None:
    sim.add_file("e.csv", FileSpec(BODY, faults=["500"]))
    with pytest.raises(TransportError, match="HTTP 500"):
        read_all(api, sim.api_file_path("e.csv"), creds)


@pytest.mark.parametrize("step", [Step.reset(), Step.hang()])
def test_reset_and_timeout_on_the_status_call(api: CampaignApi, sim: Simulator, creds: Credentials, step: Step) -> None:
    sim.script("r1", step)
    with pytest.raises(TransportError) as caught:
        api.query("r1", creds)
    assert "127.0.0.1" in str(caught.value)
    # the whole printed traceback, chained causes included, carries no header value
    assert API_KEY not in "".join(traceback.format_exception(caught.value))
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_oversized_status_answer_is_read_with_a_cap(api: CampaignApi, sim: Simulator, creds: Credentials) -> None:
    sim.script("r1", Step.raw(200, b"x" * (3 * 1024 * 1024), "application/json"))
    with pytest.raises(TransportError, match="over"):
        api.query("r1", creds)


def test_request_id_is_escaped_in_the_path(api: CampaignApi, sim: Simulator, creds: Credentials) -> None:
    # an id the sweep would refuse; the adapter must still keep it inside one path segment
    rid = "a/../b?c=1#d e%"
    sim.script(rid, Step.done_update(7, None))
    response = api.query(rid, creds)
    [call] = sim.calls
    assert call.path == STATUS_PREFIX + "a%2F..%2Fb%3Fc%3D1%23d%20e%25"
    assert classify(response, 0) == Finished(None, None, 7)  # the server read back exactly this id


@pytest.mark.parametrize("encoding", ["chunked", "gzip"])
def test_a_file_without_a_usable_length_is_capped_while_it_streams(
    api: CampaignApi, sim: Simulator, creds: Credentials, encoding: str
) -> None:
    # Given a 200 kB file sent chunked (no Content-Length) or gzip-encoded (Content-Length is the packed size)
    data = b"3005,x,1\r\n" * 20_000
    sim.add_file("big.csv", FileSpec(data, chunked=encoding == "chunked", gzip=encoding == "gzip"))
    # When it is read under a 100 kB cap, Then it is refused once the cap is passed
    with pytest.raises(FileRefused, match="MAX_FILE_BYTES"):
        read_all(api, sim.api_file_path("big.csv"), creds, cap=100_000)
    # and under a cap it fits, the decoded bytes come through whole
    assert hashlib.sha256(read_all(api, sim.api_file_path("big.csv"), creds, cap=len(data))).digest() == (
        hashlib.sha256(data).digest()
    )


@pytest.mark.parametrize("where", ["api", "files host"])
@pytest.mark.parametrize("fault", ["404", "410"])
def test_a_missing_file_is_reported_as_missing(
    api: CampaignApi, sim: Simulator, creds: Credentials, where: str, fault: str
) -> None:
    # Given a file the server answers 404 (unknown name) or 410 (gone)
    if fault == "410":
        sim.add_file("gone.csv", FileSpec(BODY, faults=["410"]))
    path = sim.api_file_path("gone.csv") if where == "api" else sim.public_file_url("gone.csv")
    # When it is opened, Then it is "missing" (retried a few times by the sweep), not a generic transient error
    with pytest.raises(FileMissing, match=f"HTTP {fault}"), api.open_file(path, creds):
        pass


@pytest.mark.parametrize("fault", ["401", "403"])
def test_a_files_host_refusing_us_is_a_permission_refusal(
    api: CampaignApi, sim: Simulator, creds: Credentials, fault: str
) -> None:
    sim.add_file("secret.csv", FileSpec(BODY, faults=[fault]))
    with (
        pytest.raises(FilePermission, match=f"HTTP {fault}") as caught,
        api.open_file(sim.public_file_url("secret.csv"), creds),
    ):
        pass
    assert caught.value.host == "localhost"


def test_a_403_from_the_api_itself_stays_transient(api: CampaignApi, sim: Simulator, creds: Credentials) -> None:
    # the API origin answering 403 for a file is about our key or its state, not the file: asked again later
    sim.add_file("f.csv", FileSpec(BODY, faults=["403"]))
    with pytest.raises(TransportError) as caught, api.open_file(sim.api_file_path("f.csv"), creds):
        pass
    assert not isinstance(caught.value, FileMissing)
