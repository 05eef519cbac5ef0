"""A stat answer without a size (the size is optional in SFTP v3) is not a 0-byte file: the bytes are streamed,
counted and capped as they come (issue 17, item 9)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from local.sftp_server import SftpServer
from profile_poller.adapters.sftp import SftpFiles
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.ports import FileRefused
from profile_poller.core.streams import MeteredReader

DATA = b"".join(b"%08d,profile,row\r\n" % i for i in range(30_000))  # ~570 KB


@pytest.fixture
def files() -> Iterator[SftpFiles]:
    adapter = SftpFiles(timeout_seconds=2.0, transfers=2)
    yield adapter
    adapter.end_sweep()


def test_a_file_whose_stat_has_no_size_is_copied_whole(files: SftpFiles, sftp_server: SftpServer) -> None:
    # Given a server whose stat answer for the file leaves the size out
    path = sftp_server.put("unsized.csv", DATA)
    sftp_server.unsized.add("unsized.csv")
    # When it is copied
    with files.open_file("127.0.0.1", sftp_server.port, path, parse_sftp_section(sftp_server.section())) as remote:
        assert remote.content_length is None
        reader = MeteredReader(remote, 10 * 1024**2)
        while reader.read(256 * 1024):
            pass
    # Then every byte arrived and was counted
    assert reader.finished and reader.bytes_read == len(DATA)
    assert reader.sha256 == hashlib.sha256(DATA).hexdigest()


def test_a_file_without_a_size_is_still_held_to_the_cap(files: SftpFiles, sftp_server: SftpServer) -> None:
    path = sftp_server.put("unsized-big.csv", DATA)
    sftp_server.unsized.add("unsized-big.csv")
    with files.open_file("127.0.0.1", sftp_server.port, path, parse_sftp_section(sftp_server.section())) as remote:
        reader = MeteredReader(remote, 100_000)
        with pytest.raises(FileRefused, match="cap"):
            reader.read(-1)
