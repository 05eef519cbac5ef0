"""The SFTP adapter's connections in a sweep (adapters/sftp.py, on the in-memory endpoint of fake_sftp.py): one SSH
connection per host and port, its channels reused file after file; a connection that dropped, whose settings
changed or whose channel open failed is replaced, and closed only once the transfers running on it have ended;
end_sweep() closes everything. The same behaviours over the wire are in tests/integration/test_sftp_*.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest

from profile_poller.adapters.sftp import SftpFiles
from profile_poller.core.ports import TransportError
from tests.unit.fake_sftp import HOST, ON_2222, SETTINGS, FakeSftp

TIMEOUT = 3.0


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeSftp:
    server = FakeSftp().install(monkeypatch)
    server.put("/a.csv", b"a" * 100)
    server.put("/b.csv", b"b" * 100)
    return server


@pytest.fixture
def files() -> Iterator[SftpFiles]:
    adapter = SftpFiles(timeout_seconds=TIMEOUT, transfers=2)
    yield adapter
    adapter.end_sweep()


def read(files: SftpFiles, path: str, port: int = 22) -> bytes:
    with files.open_file(HOST, port, path, SETTINGS if port == 22 else ON_2222) as remote:
        return remote.read(-1)


def test_files_on_one_endpoint_share_one_connection_and_its_channel(files: SftpFiles, server: FakeSftp) -> None:
    assert [read(files, "/a.csv"), read(files, "/b.csv"), read(files, "/a.csv")] == [b"a" * 100, b"b" * 100, b"a" * 100]
    [transport] = server.transports
    assert transport.endpoint == (HOST, 22) and transport.timeout == TIMEOUT
    assert len(transport.channels) == 1 and not transport.channels[0].closed and not transport.closed


def test_each_endpoint_has_its_own_connection_kept_for_its_next_file(files: SftpFiles, server: FakeSftp) -> None:
    read(files, "/a.csv")
    read(files, "/a.csv", port=2222)
    read(files, "/b.csv")
    read(files, "/b.csv", port=2222)
    assert [t.endpoint for t in server.transports] == [(HOST, 22), (HOST, 2222)]
    assert [t.settings for t in server.transports] == [SETTINGS, ON_2222]
    assert not any(t.closed for t in server.transports)


def test_a_connection_that_dropped_is_replaced_and_closed(files: SftpFiles, server: FakeSftp) -> None:
    read(files, "/a.csv")
    server.transports[0].active = False
    assert read(files, "/b.csv") == b"b" * 100
    old, new = server.transports
    assert old.closed and not new.closed


def test_new_settings_for_an_endpoint_open_a_new_connection(files: SftpFiles, server: FakeSftp) -> None:
    read(files, "/a.csv")
    rotated = replace(SETTINGS, password="rotated")
    with files.open_file(HOST, 22, "/a.csv", rotated) as remote:
        remote.read(-1)
    old, new = server.transports
    assert old.closed and new.settings == rotated and not new.closed


def test_a_file_that_failed_mid_read_does_not_give_its_channel_back(files: SftpFiles, server: FakeSftp) -> None:
    with pytest.raises(RuntimeError), files.open_file(HOST, 22, "/a.csv", SETTINGS):
        raise RuntimeError("the caller's reader gave up")
    read(files, "/b.csv")
    [transport] = server.transports
    first, second = transport.channels
    assert first.closed and not second.closed and not transport.closed
    assert all(handle.closed for handle in server.handles)


def test_a_refused_channel_is_retried_once_on_a_new_connection(files: SftpFiles, server: FakeSftp) -> None:
    read(files, "/a.csv")
    # Given the pooled connection's next channel is refused (its idle channel already taken by a running transfer)
    with files.open_file(HOST, 22, "/a.csv", SETTINGS) as running:
        server.refuse_channels = 1
        # When another file needs a channel, Then it gets one on a new connection ...
        assert read(files, "/b.csv") == b"b" * 100
        old, new = server.transports
        # ... and the old connection stays open under the transfer still running on it
        assert not old.closed and running.read(-1) == b"a" * 100
    assert old.closed and not new.closed


def test_a_channel_refused_twice_is_a_transient_error_naming_the_host(files: SftpFiles, server: FakeSftp) -> None:
    server.refuse_channels = 2
    with pytest.raises(TransportError) as caught, files.open_file(HOST, 22, "/a.csv", SETTINGS):
        pass
    assert str(caught.value) == f"SFTP channel to {HOST} failed: EOFError"
    first, second = server.transports
    assert first.closed and not second.closed
    # and the next file asks for a channel again (on the newer connection)
    assert read(files, "/a.csv") == b"a" * 100 and len(server.transports) == 2 and len(second.channels) == 1


def test_end_sweep_closes_every_connection_and_its_idle_channels(server: FakeSftp) -> None:
    files = SftpFiles(timeout_seconds=TIMEOUT)
    read(files, "/a.csv")
    read(files, "/a.csv", port=2222)
    files.end_sweep()
    assert all(t.closed and all(c.closed for c in t.channels) for t in server.transports)
    read(files, "/a.csv")
    assert len(server.transports) == 3 and not server.transports[2].closed
    files.end_sweep()


def test_after_a_refused_channel_and_a_failed_reconnect_the_next_file_connects_anew(
    files: SftpFiles, server: FakeSftp
) -> None:
    read(files, "/a.csv")
    with files.open_file(HOST, 22, "/a.csv", SETTINGS) as running:
        # Given the connection's next channel is refused, and the endpoint refuses the reconnect once
        server.refuse_channels, server.refuse_connects = 1, 1
        with pytest.raises(TransportError, match="connect"), files.open_file(HOST, 22, "/b.csv", SETTINGS):
            pass
        # When the next file comes while a transfer still runs on the old connection, Then a new one serves it
        assert read(files, "/b.csv") == b"b" * 100
        old, new = server.transports
        assert not old.closed and len(old.channels) == 1 and len(new.channels) == 1
        assert running.read(-1) == b"a" * 100
    assert old.closed and not new.closed


def test_a_connection_that_fails_to_close_does_not_stop_the_others_closing(server: FakeSftp) -> None:
    files = SftpFiles(timeout_seconds=TIMEOUT)
    read(files, "/a.csv")
    read(files, "/a.csv", port=2222)
    server.close_fails = True
    files.end_sweep()
    assert all(t.closed and all(c.closed for c in t.channels) for t in server.transports)


def test_a_slow_connect_to_one_endpoint_does_not_hold_up_another(files: SftpFiles, server: FakeSftp) -> None:
    # Given a connect to port 2222 that hangs until released
    release = server.held[2222] = threading.Event()
    slow = threading.Thread(target=read, args=(files, "/a.csv", 2222), daemon=True)
    slow.start()
    got: list[bytes] = []
    try:
        assert server.dialling.wait(10)
        # When a file on port 22 is read meanwhile, Then it arrives while the other connect still hangs
        other = threading.Thread(target=lambda: got.append(read(files, "/b.csv")), daemon=True)
        other.start()
        other.join(10)  # a bound for a failing test only: the read needs no time at all
        assert got == [b"b" * 100]
    finally:
        release.set()
        slow.join(10)
    assert [t.endpoint for t in server.transports] == [(HOST, 22), (HOST, 2222)]
