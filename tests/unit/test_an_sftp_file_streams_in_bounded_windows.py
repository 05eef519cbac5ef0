"""How the SFTP adapter reads a file (adapters/sftp.py's _Download, on the in-memory endpoint of fake_sftp.py): in
windows of at most WINDOW bytes, each asked for at once as pipelined reads of at most 32 KiB, in order and with no
gap, leftovers dropped after each window; a file that shrank after its stat ends where its bytes end; a file without
an announced size is read plainly; a read that breaks off is a transient error naming the host and the failure."""

from __future__ import annotations

from collections.abc import Iterator

import paramiko
import pytest

from profile_poller.adapters.sftp import PIECE, WINDOW, SftpFiles
from profile_poller.core.ports import TransportError
from tests.unit.fake_sftp import HOST, SETTINGS, Attrs, FakeHandle, FakeSftp

DATA = bytes(range(256)) * ((2 * WINDOW + 3 * PIECE + 17) // 256) + b"tail"  # two windows and a bit


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeSftp:
    return FakeSftp().install(monkeypatch)


@pytest.fixture
def files() -> Iterator[SftpFiles]:
    adapter = SftpFiles(timeout_seconds=1.0)
    yield adapter
    adapter.end_sweep()


def test_a_file_is_asked_for_window_by_window_in_pieces_in_order(files: SftpFiles, server: FakeSftp) -> None:
    server.put("/a.csv", DATA)
    with files.open_file(HOST, 22, "/a.csv", SETTINGS) as remote:
        assert remote.read(-1) == DATA
        assert remote.read(-1) == b""
    [handle] = server.handles
    assert [sum(size for _, size in chunks) for chunks in handle.readv_calls] == [
        WINDOW,
        WINDOW,
        len(DATA) - 2 * WINDOW,
    ]
    asked = [chunk for chunks in handle.readv_calls for chunk in chunks]
    assert all(0 < size <= PIECE for _, size in asked)
    assert [at for at, _ in asked] == [0, *(at + size for at, size in asked[:-1])]  # no gap, no overlap
    assert handle._prefetch_data == {}  # no read-ahead answer is kept past its window


def test_a_file_read_in_small_pieces_arrives_whole_then_ends(files: SftpFiles, server: FakeSftp) -> None:
    server.put("/a.csv", DATA[: 3 * PIECE + 5])
    with files.open_file(HOST, 22, "/a.csv", SETTINGS) as remote:
        assert remote.read(0) == b""
        pieces = list(iter(lambda: remote.read(1000), b""))
    assert b"".join(pieces) == DATA[: 3 * PIECE + 5] and {len(p) for p in pieces[:-1]} == {1000}


def test_a_file_that_shrank_after_its_stat_ends_where_its_bytes_end(files: SftpFiles, server: FakeSftp) -> None:
    # Given a stat announcing more windows than the file still holds bytes for
    server.attrs[server.put("/a.csv", DATA[: PIECE + 60])] = Attrs(2 * WINDOW)
    with files.open_file(HOST, 22, "/a.csv", SETTINGS) as remote:
        # When it is read, Then what is there arrives, then nothing (the caller's reader reports the shortfall)
        assert remote.read(-1) == DATA[: PIECE + 60]
        [handle] = server.handles
        assert len(handle.readv_calls) == 1  # no window asked for past the short one
        assert remote.read(-1) == b""


def test_a_file_without_an_announced_size_is_read_plainly_a_window_at_most(files: SftpFiles, server: FakeSftp) -> None:
    server.attrs[server.put("/a.csv", DATA)] = Attrs(None)
    with files.open_file(HOST, 22, "/a.csv", SETTINGS) as remote:
        assert remote.content_length is None
        got = [remote.read(10), remote.read(0), remote.read(3 * WINDOW), remote.read(-1)]
    [handle] = server.handles
    assert handle.read_sizes == [10, 0, WINDOW, WINDOW] and b"".join(got) == DATA[: 10 + 2 * WINDOW]


@pytest.mark.parametrize(
    ("error", "named"),
    [
        (EOFError(), "EOFError"),
        (TimeoutError("timed out"), "timed out"),
        (ConnectionResetError(104, "reset"), "ConnectionResetError"),
        (paramiko.SSHException("Channel closed."), "SSHException"),
    ],
)
@pytest.mark.parametrize("size", [len(DATA), None], ids=["sized", "unsized"])
def test_a_read_that_breaks_off_is_transient_naming_the_host_and_the_failure(
    files: SftpFiles, server: FakeSftp, error: BaseException, named: str, size: int | None
) -> None:
    server.attrs[server.put("/a.csv", DATA)] = Attrs(size)
    server.read_fails["/a.csv"] = error
    with pytest.raises(TransportError) as caught, files.open_file(HOST, 22, "/a.csv", SETTINGS) as remote:
        remote.read(-1)
    assert str(caught.value) == f"SFTP download broke off: {named} from {HOST}"


def test_the_handle_is_closed_whatever_the_read_did(files: SftpFiles, server: FakeSftp) -> None:
    server.put("/a.csv", DATA[:10])
    server.read_fails["/a.csv"] = EOFError()
    with pytest.raises(TransportError), files.open_file(HOST, 22, "/a.csv", SETTINGS) as remote:
        remote.read(-1)
    assert all(isinstance(h, FakeHandle) and h.closed for h in server.handles)
