"""Keys of each type paramiko can use, against asyncssh's SFTP server: a pinned host key of type ssh-ed25519,
ecdsa or ssh-rsa (checked through rsa-sha2 signatures, as OpenSSH 8.8+ signs), a client key of any of those types;
a server whose keys are all of types the secret does not pin is a refused login naming the pinned types, and every
refusal names the endpoint. The same against a real sshd: test_real_openssh_server.py (skipped without sshd)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import asyncssh
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from local.sftp_server import SftpServer
from profile_poller.adapters.sftp import SftpFiles
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.ports import SftpSettings, SourceLoginRefused

TIMEOUT = 5.0  # nothing here times out; generous for a loaded machine


@pytest.fixture
def files() -> Iterator[SftpFiles]:
    adapter = SftpFiles(timeout_seconds=TIMEOUT, transfers=1)
    yield adapter
    adapter.end_sweep()


def read(files: SftpFiles, server: SftpServer, creds: SftpSettings) -> bytes:
    path = server.put("a.csv", b"id,name\r\n1,x\r\n")
    with files.open_file("127.0.0.1", server.port, path, creds) as remote:
        return remote.read(-1)


def test_an_ssh_rsa_line_pins_a_server_that_signs_only_with_sha2(files: SftpFiles) -> None:
    # Given a server with an RSA key that signs only with rsa-sha2-512/256 (as OpenSSH 8.8+), pinned as `ssh-rsa`
    with SftpServer("ssh-rsa", host_key_algs=("rsa-sha2-512", "rsa-sha2-256")) as server:
        creds = parse_sftp_section(server.section())
        assert creds.host_keys[0].split()[1] == "ssh-rsa"
        # When a file is read, Then the key is checked and the file arrives
        assert read(files, server, creds) == b"id,name\r\n1,x\r\n"


def openssh_private_key(kind: str) -> str:
    """A private key as `ssh-keygen` writes it (OpenSSH format). Not asyncssh's export: paramiko 5.1 reads about one
    asyncssh-exported ECDSA key in three as 'Invalid key curve identifier'; keys written by cryptography, as by
    ssh-keygen, always load."""
    key: Any = ec.generate_private_key(ec.SECP256R1()) if kind == "ecdsa" else rsa.generate_private_key(65537, 2048)
    return str(key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode())


@pytest.mark.parametrize("kind", ["ecdsa", "rsa"])
def test_a_client_key_of_each_type_logs_in(files: SftpFiles, kind: str) -> None:
    text = openssh_private_key(kind)
    server = SftpServer()
    server.client_key = asyncssh.import_private_key(text)  # the key the server authorizes
    with server:
        creds = parse_sftp_section(server.section("key", private_key=text))
        assert read(files, server, creds) == b"id,name\r\n1,x\r\n"


def test_a_server_without_a_key_of_a_pinned_type_is_a_refused_login_naming_the_types(files: SftpFiles) -> None:
    # Given a server whose only key is ecdsa-sha2-nistp256, and a secret pinning an ed25519 and a nistp384 key for it
    with SftpServer("ecdsa-sha2-nistp256") as server:
        others = [asyncssh.generate_private_key(kind) for kind in ("ssh-ed25519", "ecdsa-sha2-nistp384")]
        creds = parse_sftp_section(server.section(host_keys=[server.known_hosts_line(key) for key in others]))
        # When a file is read, Then the login is refused (systemic, not a transient error), naming what is pinned
        with pytest.raises(SourceLoginRefused) as caught:
            read(files, server, creds)
    assert str(caught.value) == (
        f"the host 127.0.0.1:{server.port} offers no host key of the pinned types (ecdsa-sha2-nistp384, ssh-ed25519)"
    )


def test_a_changed_host_key_is_refused_naming_the_endpoint(files: SftpFiles, sftp_server: SftpServer) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    creds = parse_sftp_section(sftp_server.section(host_keys=[sftp_server.known_hosts_line(other)]))
    with pytest.raises(SourceLoginRefused) as caught:
        read(files, sftp_server, creds)
    assert str(caught.value) == f"the host key of 127.0.0.1:{sftp_server.port} does not match the pinned key"


def test_a_refused_password_names_the_endpoint_never_the_password(files: SftpFiles, sftp_server: SftpServer) -> None:
    creds = parse_sftp_section(sftp_server.section("password", password="not-it"))
    with pytest.raises(SourceLoginRefused) as caught:
        read(files, sftp_server, creds)
    assert str(caught.value) == f"SFTP login to 127.0.0.1:{sftp_server.port} refused"


def test_a_private_key_that_cannot_be_read_is_a_refused_login_naming_the_field(
    files: SftpFiles, sftp_server: SftpServer
) -> None:
    garbled = "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n"
    with pytest.raises(SourceLoginRefused) as caught:
        read(files, sftp_server, parse_sftp_section(sftp_server.section("key", private_key=garbled)))
    assert str(caught.value) == "the secret's sftp.private_key could not be read (unsupported or encrypted key)"
