"""Whatever the pinned keys hold, even settings built by hand past the secret's parser, the SFTP adapter raises only
its port's errors (issue 17, item 1: an `ssh-rsa` or `sk-*` type, or a bad hashed line, once raised `ValueError` or
`binascii.Error` out of the adapter, and every SFTP request stayed stuck)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.sftp_server import SftpServer
from profile_poller.adapters.sftp import SftpFiles
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
