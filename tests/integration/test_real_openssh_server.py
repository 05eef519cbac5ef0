"""The SFTP adapter against a real OpenSSH sshd (internal-sftp in a chroot), its host keys pinned from real
`ssh-keyscan` output as a tenant pastes it (issue 17, items 1, 2 and 8). Skipped, with the reason, where sshd cannot
run (not installed, not root); `.ci/run` installs it so CI always runs these.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterator

import asyncssh
import pytest

from local.real_servers import RealSshd, missing_sshd
from profile_poller.adapters.sftp import SftpFiles
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.ports import SftpSettings, SourceLoginRefused
from profile_poller.core.streams import MeteredReader

WHY_NOT = missing_sshd()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")

TIMEOUT = 5.0
DATA = b"".join(b"%08d,profile,row\r\n" % i for i in range(60_000))  # ~1.1 MB


@pytest.fixture(scope="module")
def sshd() -> Iterator[RealSshd]:
    """Host keys of three types: ed25519, ecdsa and rsa."""
    with RealSshd() as server:
        yield server


@pytest.fixture
def files() -> Iterator[SftpFiles]:
    adapter = SftpFiles(timeout_seconds=TIMEOUT, transfers=2, max_bytes=10 * 1024**2)
    yield adapter
    adapter.end_sweep()


def fetch(files: SftpFiles, server: RealSshd, path: str, creds: SftpSettings) -> MeteredReader:
    with files.open_file("127.0.0.1", server.port, path, creds) as remote:
        reader = MeteredReader(remote, 10 * 1024**2)
        while reader.read(1024 * 1024):
            pass
    return reader


@pytest.mark.parametrize("options", [(), ("-H",)], ids=["plain", "hashed"])
def test_the_whole_keyscan_output_pins_the_server(files: SftpFiles, sshd: RealSshd, options: tuple[str, ...]) -> None:
    # Given the secret pins every line `ssh-keyscan [-H]` prints (ssh-rsa, ecdsa and ed25519 among them)
    lines = sshd.keyscan(*options)
    assert {line.split()[1] for line in lines} >= {"ssh-rsa", "ecdsa-sha2-nistp256", "ssh-ed25519"}
    creds = parse_sftp_section(sshd.section(lines))
    # When a file is fetched
    reader = fetch(files, sshd, sshd.put("keyscan.csv", DATA), creds)
    # Then it arrives byte for byte
    assert reader.finished and reader.sha256 == hashlib.sha256(DATA).hexdigest()


def test_an_ssh_rsa_line_pins_the_server_through_rsa_sha2_signatures(files: SftpFiles, sshd: RealSshd) -> None:
    # Given only the ssh-rsa line is pinned (paramiko has no "ssh-rsa" key type, only rsa-sha2-512/256)
    rsa = [line for line in sshd.keyscan() if line.split()[1] == "ssh-rsa"]
    creds = parse_sftp_section(sshd.section(rsa))
    # When a file is fetched, then the server's RSA key is checked and the file arrives
    reader = fetch(files, sshd, sshd.put("rsa.csv", DATA), creds)
    assert reader.bytes_read == len(DATA)


def test_a_server_key_of_a_type_not_pinned_is_a_refused_login(files: SftpFiles) -> None:
    # Given a server with only an ed25519 key, and a secret pinning an ecdsa key for it
    with RealSshd(key_types=("ed25519",)) as server:
        other = asyncssh.generate_private_key("ecdsa-sha2-nistp256").export_public_key().decode().split()
        creds = parse_sftp_section(server.section([f"[127.0.0.1]:{server.port} {other[0]} {other[1]}"]))
        # When a file is fetched, then the login is refused (systemic, not charged), not a transient error
        with pytest.raises(SourceLoginRefused, match="offers no host key of the pinned types"):
            fetch(files, server, server.put("a.csv", DATA), creds)


def _open_files() -> set[tuple[str, str]]:
    """Each open descriptor with what it points at (`socket:[inode]` for a socket): a file opened since is a new pair,
    even on a number freed meanwhile; one that another thread of the worker closes meanwhile is not a leak."""
    gc.collect()
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
        except OSError:  # closed between the listing and the reading (listdir's own descriptor among them)
            continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counting open files needs /proc")
def test_refused_logins_leave_no_socket_open(files: SftpFiles, sshd: RealSshd) -> None:
    # Given three ways to be refused: a key of another type, a changed key, a client key the server does not know
    ecdsa = asyncssh.generate_private_key("ecdsa-sha2-nistp256").export_public_key().decode().split()
    wrong_type = parse_sftp_section(sshd.section([f"[127.0.0.1]:{sshd.port} {ecdsa[0]} {ecdsa[1]}"])).host_keys
    real = sshd.keyscan()
    changed = [line.replace(line.split()[2], _other_key(line.split()[1])) for line in real]
    stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    attempts = [
        parse_sftp_section({**sshd.section(real), "host_keys": list(wrong_type)}),
        parse_sftp_section(sshd.section(changed)),
        parse_sftp_section({**sshd.section(real), "private_key": stranger}),
    ]
    path = sshd.put("leak.csv", b"x")
    before = _open_files()
    # When each is tried a few times
    for _ in range(3):
        for creds in attempts:
            with pytest.raises(SourceLoginRefused):
                fetch(files, sshd, path, creds)
    # Then no socket (nor any other file) is left open
    assert _open_files() - before == set()


def _other_key(kind: str) -> str:
    name = {"ssh-rsa": "ssh-rsa", "ssh-ed25519": "ssh-ed25519"}.get(kind, kind)
    return str(asyncssh.generate_private_key(name).export_public_key().decode().split()[1])


def test_a_refused_channel_does_not_cut_the_transfer_running_on_that_connection() -> None:
    # Given a server that allows one session per connection, and two transfers at once on it
    with RealSshd(key_types=("ed25519",), max_sessions=1) as server:
        creds = parse_sftp_section(server.section(server.keyscan()))
        first, second = server.put("first.csv", DATA), server.put("second.csv", DATA[::-1])
        files = SftpFiles(timeout_seconds=TIMEOUT, transfers=2, max_bytes=10 * 1024**2)
        try:
            with files.open_file("127.0.0.1", server.port, first, creds) as running:
                head = running.read(64 * 1024)
                # When a second file needs a channel (refused on the first connection: MaxSessions 1)
                other = fetch(files, server, second, creds)
                rest = running.read(-1)
        finally:
            files.end_sweep()
    # Then both files arrive whole
    assert other.sha256 == hashlib.sha256(DATA[::-1]).hexdigest()
    assert head + rest == DATA
