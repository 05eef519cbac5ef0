"""Files on two SFTP hosts (a mirror on another port) in one sweep: each file is read from its own host, over a
connection whose host key was checked against that host's pin; the sweep's connection is not reused across hosts."""

from __future__ import annotations

import asyncssh
import pytest

from local.sftp_server import BASE_DIR, SftpServer
from profile_poller.adapters.sftp import SftpFiles
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.ports import SftpSettings, SourceLoginRefused

TIMEOUT = 0.5


def read(files: SftpFiles, server: SftpServer, path: str, creds: SftpSettings) -> bytes:
    with files.open_file("127.0.0.1", server.port, path, creds) as remote:
        return remote.read()


def test_a_file_on_a_mirror_is_read_from_the_mirror_not_over_the_first_hosts_connection() -> None:
    with SftpServer() as first, SftpServer() as mirror:
        # Given the same path on two hosts with different content, both pinned in one secret
        path = first.put("a.csv", b"first host\n")
        assert mirror.put("a.csv", b"the mirror\n") == path
        creds = parse_sftp_section(
            first.section("password", host_keys=[first.known_hosts_line(), mirror.known_hosts_line()])
        )
        files = SftpFiles(timeout_seconds=TIMEOUT, transfers=1)
        try:
            # When one sweep reads it from the first host, then from the mirror, then from the first again
            got = [read(files, first, path, creds), read(files, mirror, path, creds), read(files, first, path, creds)]
        finally:
            files.end_sweep()
        # Then each read came from its own host over its own connection: one per host and port, the first host's
        # kept open for its second read (two endpoints in one sweep do not cut each other's connections)
        assert got == [b"first host\n", b"the mirror\n", b"first host\n"]
        assert (first.connections, mirror.connections) == (1, 1)


def test_a_mirror_whose_key_does_not_match_its_pin_is_refused_after_a_good_host() -> None:
    with SftpServer() as first, SftpServer() as mirror:
        path = first.put("a.csv", b"first host\n")
        mirror.put("a.csv", b"the mirror\n")
        # Given the secret pins the first host's key correctly and a wrong key for the mirror
        wrong = mirror.known_hosts_line(asyncssh.generate_private_key("ssh-ed25519"))
        creds = parse_sftp_section(first.section("password", host_keys=[first.known_hosts_line(), wrong]))
        files = SftpFiles(timeout_seconds=TIMEOUT, transfers=1)
        try:
            assert read(files, first, path, creds) == b"first host\n"
            # When the sweep then reads from the mirror, Then its key is checked (and refused) before any read
            with pytest.raises(SourceLoginRefused, match="does not match the pinned key"):
                read(files, mirror, f"{BASE_DIR}/a.csv", creds)
        finally:
            files.end_sweep()
        assert mirror.opens == []
