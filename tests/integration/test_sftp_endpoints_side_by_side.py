"""Two SFTP endpoints in one sweep (the secret's host and a FILE_HOSTS host, each with a pinned key) do not cut each
other's transfers: the adapter keeps one connection per host and port (issue 17, item 8)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from local.sftp_server import SftpServer
from profile_poller.adapters.sftp import SftpFiles
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.streams import MeteredReader

DATA = b"".join(b"%08d,profile,row\r\n" % i for i in range(60_000))  # ~1.1 MB: several read-ahead windows


@pytest.fixture
def second_server(sftp_server: SftpServer) -> Iterator[SftpServer]:
    """Another host key, the same login (one secret)."""
    server = SftpServer("ecdsa-sha2-nistp256")
    server.client_key = sftp_server.client_key
    with server:
        yield server


def test_a_transfer_from_one_endpoint_survives_a_transfer_from_another(
    sftp_server: SftpServer, second_server: SftpServer
) -> None:
    # Given one secret pinning both servers' keys, and a file on each
    creds = parse_sftp_section(
        sftp_server.section(host_keys=[sftp_server.known_hosts_line(), second_server.known_hosts_line()])
    )
    here = sftp_server.put("here.csv", DATA)
    there = second_server.put("there.csv", DATA[::-1])
    files = SftpFiles(timeout_seconds=2.0, transfers=2, max_bytes=10 * 1024**2)
    try:
        with files.open_file("127.0.0.1", sftp_server.port, here, creds) as running:
            head = running.read(64 * 1024)
            # When a file from the other endpoint is copied while the first is half read
            with files.open_file("127.0.0.1", second_server.port, there, creds) as remote:
                other = MeteredReader(remote, 10 * 1024**2)
                while other.read(1024 * 1024):
                    pass
            rest = running.read(-1)
        # Then both arrive whole, and a third file on the first endpoint reuses its connection
        with files.open_file("127.0.0.1", sftp_server.port, here, creds) as again:
            assert again.read(-1) == DATA
    finally:
        files.end_sweep()
    assert head + rest == DATA
    assert other.sha256 == hashlib.sha256(DATA[::-1]).hexdigest()
    assert sftp_server.connections == 1 and second_server.connections == 1
