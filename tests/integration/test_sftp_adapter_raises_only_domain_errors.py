"""Whatever the pinned keys hold, even settings built by hand past the secret's parser, the SFTP adapter raises only
its port's errors (issue 17, item 1: an `ssh-rsa` or `sk-*` type, or a bad hashed line, once raised `ValueError` or
`binascii.Error` out of the adapter, and every SFTP request stayed stuck)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from local.sftp_server import SftpServer
from profile_poller.adapters.sftp import SftpFiles
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.ports import FileRefused, SftpSettings, SourceLoginRefused, TransportError

DOMAIN_ERRORS = (TransportError, FileRefused, SourceLoginRefused)


@pytest.fixture
def files() -> Iterator[SftpFiles]:
    adapter = SftpFiles(timeout_seconds=2.0)
    yield adapter
    adapter.end_sweep()


@pytest.mark.parametrize(
    "line",
    [
        "{host} sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t",
        "{host} ssh-dss AAAAB3NzaC1kc3M=",
        "|1|c2FsdHNhbHRzYWx0c2FsdHNhbHQ=|abc ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
        "|1|only-two ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
        "{host} ssh-ed25519 !!!not-base64!!!",
        "{host}",
    ],
    ids=["sk-type", "dss-type", "hash-digest-not-base64", "hash-cut-short", "key-not-base64", "one-field"],
)
def test_pinned_keys_built_by_hand_never_raise_past_the_adapter(
    files: SftpFiles, sftp_server: SftpServer, line: str
) -> None:
    # Given settings built by hand (not through the secret's parser) with one odd line beside nothing usable
    host = f"[127.0.0.1]:{sftp_server.port}"
    creds = SftpSettings(
        host="127.0.0.1",
        port=sftp_server.port,
        username="campaign",
        password="x",
        host_keys=(line.format(host=host),),
        base_dir="/outbox",
    )
    # When a file is opened, then only a domain error comes out
    with pytest.raises(DOMAIN_ERRORS), files.open_file("127.0.0.1", sftp_server.port, "/outbox/a.csv", creds):
        pass


def test_a_transport_paramiko_cannot_set_up_is_transient_and_its_socket_is_closed(
    monkeypatch: pytest.MonkeyPatch, files: SftpFiles, sftp_server: SftpServer
) -> None:
    import paramiko

    # Given paramiko fails to set up the SSH transport on a connected socket (out of threads, say)
    opened: list[socket.socket] = []
    create_connection = socket.create_connection

    def tracked(address: tuple[str, int], timeout: float) -> socket.socket:
        opened.append(create_connection(address, timeout=timeout))
        return opened[-1]

    def cannot(sock: socket.socket) -> paramiko.Transport:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(socket, "create_connection", tracked)  # the module sftp_session dials with
    monkeypatch.setattr(paramiko, "Transport", cannot)
    creds = parse_sftp_section(sftp_server.section())
    # When a file is opened, Then a transient error naming the endpoint comes out, and the socket is closed
    with (
        pytest.raises(TransportError) as caught,
        files.open_file("127.0.0.1", sftp_server.port, "/outbox/a.csv", creds),
    ):
        pass
    assert str(caught.value) == f"SFTP handshake with 127.0.0.1:{sftp_server.port} failed: RuntimeError"
    assert [sock.fileno() for sock in opened] == [-1]
