"""An open HTTPS download (CampaignApi.open_file) reads like a file, as the copy expects of any RemoteFile: read(n)
gives at most n bytes (what has arrived), read() the whole rest, read(0) nothing; bytes come decoded whatever the
Content-Encoding; the size is known up front exactly when the server announced the bytes it sends (so the copy
gate can refuse a file too big or too slow before reading it), and a download that breaks off says where."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import pytest

from local.simulator import FileSpec, Simulator
from profile_poller.adapters.campaign_api import CampaignApi, build_session
from profile_poller.core.ports import Credentials, TransportError
from tests.conftest import API_KEY
from tests.integration.raw_http import RawServer, Seen, answer

DATA = b"".join(b"%06d,3005,not updated\r\n" % i for i in range(10_000))


@pytest.fixture
def api() -> CampaignApi:
    return CampaignApi(build_session(1), frozenset({"localhost"}), allow_plain_http=True, timeout_seconds=2.0)


@pytest.fixture
def creds(sim: Simulator) -> Credentials:
    return Credentials(API_KEY, sim.base_url)


@pytest.mark.parametrize(
    ("encoding", "length"),
    [("length", len(DATA)), ("chunked", None), ("gzip", None)],
)
def test_the_size_is_known_up_front_only_when_the_server_announces_the_bytes_it_sends(
    api: CampaignApi, sim: Simulator, creds: Credentials, encoding: str, length: int | None
) -> None:
    sim.add_file("e.csv", FileSpec(DATA, chunked=encoding == "chunked", gzip=encoding == "gzip"))
    with api.open_file(sim.api_file_path("e.csv"), creds) as remote:
        assert remote.content_length == length
        assert remote.read() == DATA  # decoded, whole


@pytest.mark.parametrize("encoding", ["identity", "", "Identity"])
def test_a_content_encoding_that_encodes_nothing_leaves_the_size_known(api: CampaignApi, encoding: str) -> None:
    def respond(seen: Seen) -> Iterable[bytes]:
        return [answer(200, DATA, [("Content-Type", "text/csv"), ("Content-Encoding", encoding)])]

    with RawServer(respond) as server, api.open_file(f"{server.url}/e.csv", Credentials(API_KEY, server.url)) as remote:
        assert remote.content_length == len(DATA)
        assert remote.read() == DATA


@pytest.mark.parametrize("encoding", ["length", "chunked", "gzip"])
def test_read_n_gives_at_most_n_bytes_and_read_0_gives_none(
    api: CampaignApi, sim: Simulator, creds: Credentials, encoding: str
) -> None:
    sim.add_file("e.csv", FileSpec(DATA, chunked=encoding == "chunked", gzip=encoding == "gzip"))
    with api.open_file(sim.api_file_path("e.csv"), creds) as remote:
        assert remote.read(0) == b""
        head = remote.read(10)
        assert 0 < len(head) <= 10
        pieces = [head]
        while piece := remote.read(4096):
            assert len(piece) <= 4096
            pieces.append(piece)
        assert remote.read(0) == b"" and remote.read() == b""
    assert hashlib.sha256(b"".join(pieces)).digest() == hashlib.sha256(DATA).digest()


def read_to_the_end(api: CampaignApi, path: str, creds: Credentials, size: int) -> None:
    with api.open_file(path, creds) as remote:
        while remote.read(size):
            pass


@pytest.mark.parametrize("whole", [True, False], ids=["read()", "read(n)"])
def test_a_download_that_breaks_off_says_so_and_names_the_host(
    api: CampaignApi, sim: Simulator, creds: Credentials, whole: bool
) -> None:
    # Given a files host that sends half the announced bytes, then resets the connection
    sim.add_file("p.csv", FileSpec(DATA * 10, faults=["truncate"]))
    # When the file is read, Then the failure is transient and says what broke and where
    with pytest.raises(TransportError) as caught:
        read_to_the_end(api, sim.public_file_url("p.csv"), creds, -1 if whole else 65536)
    assert str(caught.value) == "download broke off: ProtocolError talking to localhost"
