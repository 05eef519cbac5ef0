"""The SFTP adapter against a real SFTP server (asyncssh) on 127.0.0.1: copies, pinned keys, logins, paths, faults.

Timeouts are short (0.5 s) so a stalled server costs half a second; nothing sleeps to let time pass.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import asyncssh
import pytest

from local.sftp_server import BASE_DIR, DROP_AFTER, SftpServer, silent_listener
from profile_poller.adapters.sftp import SftpFiles
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.classify import Finished
from profile_poller.core.copier import FileCopier
from profile_poller.core.items import PendingRequest
from profile_poller.core.model import Kind
from profile_poller.core.ports import (
    Credentials,
    FileMissing,
    FilePermission,
    FileRefused,
    SftpSettings,
    SourceLoginRefused,
    TransportError,
)
from profile_poller.core.sources import FileSource
from profile_poller.core.streams import MeteredReader
from tests.fakes import FakeApi, FakeArchive

TIMEOUT = 0.5
DATA = b"".join(b"%08d,profile,row\r\n" % i for i in range(60_000))  # ~1.1 MB: many read-ahead requests


@pytest.fixture
def files() -> Any:
    adapter = SftpFiles(timeout_seconds=TIMEOUT, transfers=2, max_bytes=10 * 1024**2)
    yield adapter
    adapter.end_sweep()


@pytest.fixture
def patient_files() -> Any:
    """For tests about something other than a timeout: on a loaded machine (parallel workers) the server's banner
    can take longer than TIMEOUT, which would fail a test that never meant to time anything out."""
    adapter = SftpFiles(timeout_seconds=10 * TIMEOUT, transfers=2, max_bytes=10 * 1024**2)
    yield adapter
    adapter.end_sweep()


def settings(server: SftpServer, auth: str = "key", **changes: Any) -> SftpSettings:
    return parse_sftp_section(server.section(auth, **changes))


def fetch(files: SftpFiles, server: SftpServer, path: str, creds: SftpSettings | None = None) -> MeteredReader:
    with files.open_file("127.0.0.1", server.port, path, creds or settings(server)) as remote:
        reader = MeteredReader(remote, 10 * 1024**2)
        while reader.read(1024 * 1024):
            pass
    return reader


@pytest.mark.parametrize("auth", ["key", "password"])
def test_a_file_is_copied_byte_for_byte_over_one_reused_connection(
    files: SftpFiles, sftp_server: SftpServer, auth: str
) -> None:
    # Given two files on the server
    first = sftp_server.put("a.csv", DATA)
    second = sftp_server.put("b.csv", DATA[::-1])
    creds = settings(sftp_server, auth)
    # When both are read through the adapter
    a = fetch(files, sftp_server, first, creds)
    b = fetch(files, sftp_server, second, creds)
    # Then the bytes and checksums match, and one SSH connection carried both
    assert a.bytes_read == len(DATA) and a.sha256 == hashlib.sha256(DATA).hexdigest() and a.finished
    assert b.sha256 == hashlib.sha256(DATA[::-1]).hexdigest()
    assert sftp_server.connections == 1


def test_an_empty_file_is_copied(files: SftpFiles, sftp_server: SftpServer) -> None:
    reader = fetch(files, sftp_server, sftp_server.put("empty.csv", b""))
    assert reader.bytes_read == 0 and reader.sha256 == hashlib.sha256(b"").hexdigest() and reader.finished


def test_a_changed_host_key_is_refused_before_logging_in(files: SftpFiles, sftp_server: SftpServer) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    creds = settings(sftp_server, host_keys=[sftp_server.known_hosts_line(other)])
    with pytest.raises(SourceLoginRefused, match="does not match the pinned key"):
        fetch(files, sftp_server, sftp_server.put("a.csv", DATA), creds)


def test_a_host_without_a_pinned_key_is_refused(files: SftpFiles, sftp_server: SftpServer) -> None:
    # a refusal of that one file (not archived, with the reason), not a systemic stop: issue 17 item 5
    line = sftp_server.known_hosts_line().replace("[127.0.0.1]", "[sftp.elsewhere.example]")
    with pytest.raises(FileRefused, match="no pinned host key"):
        fetch(files, sftp_server, sftp_server.put("a.csv", DATA), settings(sftp_server, host_keys=[line]))
    assert sftp_server.connections == 0  # refused before a byte went out


def test_a_hashed_known_hosts_line_is_accepted(files: SftpFiles, sftp_server: SftpServer) -> None:
    import paramiko

    kind, blob = sftp_server.known_hosts_line().split()[1:]
    hashed = paramiko.HostKeys.hash_host(f"[127.0.0.1]:{sftp_server.port}")
    reader = fetch(
        files, sftp_server, sftp_server.put("a.csv", DATA), settings(sftp_server, host_keys=[f"{hashed} {kind} {blob}"])
    )
    assert reader.bytes_read == len(DATA)


def test_a_wrong_key_and_a_wrong_password_are_refused_logins(files: SftpFiles, sftp_server: SftpServer) -> None:
    path = sftp_server.put("a.csv", DATA)
    stranger = bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key()).decode()
    with pytest.raises(SourceLoginRefused) as by_key:
        fetch(files, sftp_server, path, settings(sftp_server, private_key=stranger))
    with pytest.raises(SourceLoginRefused) as by_password:
        fetch(files, sftp_server, path, settings(sftp_server, "password", password="not-it"))
    # and the refusal never carries the secret
    assert "PRIVATE KEY" not in str(by_key.value) and "not-it" not in str(by_password.value)


def test_a_missing_file_is_missing_until_it_appears(files: SftpFiles, sftp_server: SftpServer) -> None:
    with pytest.raises(FileMissing):
        fetch(files, sftp_server, f"{BASE_DIR}/late.csv")
    sftp_server.put("late.csv", DATA)
    assert fetch(files, sftp_server, f"{BASE_DIR}/late.csv").bytes_read == len(DATA)


def test_permission_denied_is_a_permission_refusal(files: SftpFiles, sftp_server: SftpServer) -> None:
    path = sftp_server.put("locked.csv", DATA)
    sftp_server.fault("locked.csv", "deny")
    with pytest.raises(FilePermission, match="permission denied"):
        fetch(files, sftp_server, path)


def test_a_symlink_leading_out_of_base_dir_is_refused_unread(files: SftpFiles, sftp_server: SftpServer) -> None:
    # Given a link in /outbox pointing at /private (outside base_dir) on the server
    sftp_server.put("secret.csv", b"private", folder="/private")
    sftp_server.symlink("innocent.csv", "/private/secret.csv")
    # When it is fetched, Then the server's canonical path gives it away and nothing is opened
    with pytest.raises(FileRefused, match="outside base_dir"):
        fetch(files, sftp_server, f"{BASE_DIR}/innocent.csv")
    assert "secret.csv" not in sftp_server.opens and "innocent.csv" not in sftp_server.opens


@pytest.mark.parametrize("value", ["../private/secret.csv", "/private/secret.csv", "sub/../../private/secret.csv"])
def test_paths_escaping_base_dir_are_refused_before_any_request(
    files: SftpFiles, sftp_server: SftpServer, value: str
) -> None:
    # Given a file outside base_dir on the server, and the copier wired to this SFTP adapter
    sftp_server.put("secret.csv", b"private", folder="/private")
    archive = FakeArchive()
    copier = FileCopier(FakeApi(), archive, "p", 10**6, sftp=files, mode=FileSource.SFTP)
    creds = Credentials("k", "https://tenant.example", sftp=settings(sftp_server))
    request = PendingRequest("r1", Kind.UPDATE, 1_800_000_000, 1, 0)
    # When a finished request names it
    copied = copier.copy(request, Finished(file=value, error_file=None, update_count=1), creds)
    # Then it is not archived, with the reason, and the server never even saw a connection
    [stored] = copied.files
    assert stored.s3_uri is None and stored.reason and archive.objects == {}
    assert sftp_server.connections == 0 and sftp_server.opens == []


def test_a_file_over_the_cap_is_refused_before_reading(sftp_server: SftpServer) -> None:
    small = SftpFiles(timeout_seconds=TIMEOUT, max_bytes=1000)
    try:
        with pytest.raises(FileRefused, match="MAX_FILE_BYTES"):
            fetch(small, sftp_server, sftp_server.put("big.csv", DATA))
        assert "big.csv" not in sftp_server.opens  # the size came from stat: not opened, not a byte read
    finally:
        small.end_sweep()


def test_a_connection_dropped_mid_file_is_transient_and_the_next_file_reconnects(
    patient_files: SftpFiles, sftp_server: SftpServer
) -> None:
    files = patient_files
    path = sftp_server.put("a.csv", DATA)
    sftp_server.fault("a.csv", "drop")
    with pytest.raises(TransportError, match="broke off") as caught:
        fetch(files, sftp_server, path)
    assert len(DATA) > DROP_AFTER and "a.csv" in sftp_server.opens
    # the next transfer re-opens the connection once and succeeds
    assert fetch(files, sftp_server, path).sha256 == hashlib.sha256(DATA).hexdigest()
    assert sftp_server.connections == 2 and "127.0.0.1" in str(caught.value)


def test_a_read_that_stalls_times_out(files: SftpFiles, sftp_server: SftpServer) -> None:
    path = sftp_server.put("a.csv", DATA)
    sftp_server.fault("a.csv", "stall")
    started = time.monotonic()
    with pytest.raises(TransportError):
        fetch(files, sftp_server, path)
    assert time.monotonic() - started < 10 * TIMEOUT


def test_a_server_that_never_speaks_times_out(files: SftpFiles, sftp_server: SftpServer) -> None:
    creds = settings(sftp_server)
    with silent_listener() as port:
        line = f"[127.0.0.1]:{port} {creds.host_keys[0].split()[1]} {creds.host_keys[0].split()[2]}"
        started = time.monotonic()
        creds = settings(sftp_server, port=port, host_keys=[line])
        with (
            pytest.raises(TransportError) as caught,
            files.open_file("127.0.0.1", port, "/outbox/a.csv", creds),
        ):
            pass
        assert time.monotonic() - started < 10 * TIMEOUT
    # paramiko names a banner that never came "Error reading SSH protocol banner": an SSHException
    assert str(caught.value) == f"SFTP handshake with 127.0.0.1:{port} failed: SSHException"


def test_a_server_that_never_starts_the_sftp_subsystem_times_out() -> None:
    # Given a server that accepts the connection and the login, then never answers the request to start `sftp`
    # (paramiko's invoke_subsystem has no timeout of its own)
    with SftpServer(stall_subsystem=True) as server:
        files = SftpFiles(timeout_seconds=TIMEOUT, transfers=1)
        try:
            # When a file is asked for, Then the transfer fails as transient, naming the timeout
            with (
                pytest.raises(TransportError, match=r"SFTP channel to 127\.0\.0\.1 failed: timed out"),
                files.open_file("127.0.0.1", server.port, f"{BASE_DIR}/a.csv", settings(server)),
            ):
                pass
        finally:
            files.end_sweep()
        # after logging in twice: the channel is retried once on a fresh connection, as after a drop
        assert server.connections == 2


def test_a_closed_port_is_transient(files: SftpFiles, sftp_server: SftpServer) -> None:
    with silent_listener() as port:
        pass  # the port is closed again: nobody listens
    line = sftp_server.known_hosts_line().replace(f":{sftp_server.port} ", f":{port} ")
    creds = settings(sftp_server, port=port, host_keys=[line])
    with pytest.raises(TransportError) as caught, files.open_file("127.0.0.1", port, "/outbox/a.csv", creds):
        pass
    assert str(caught.value) == f"SFTP connect to 127.0.0.1:{port} failed: ConnectionRefusedError"
