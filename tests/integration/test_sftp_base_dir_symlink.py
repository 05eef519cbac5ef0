"""A base_dir that is a symlink on the server still serves its files: containment is checked against the server's
real path of base_dir, so a link escaping it is still refused (issue 17, item 10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.sftp_server import SftpServer
from profile_poller.adapters.sftp import SftpFiles
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.ports import FileRefused
from profile_poller.core.sources import sftp_path


@pytest.fixture
def files() -> Iterator[SftpFiles]:
    adapter = SftpFiles(timeout_seconds=2.0, transfers=2)
    yield adapter
    adapter.end_sweep()


def test_a_file_under_a_symlinked_base_dir_is_copied(files: SftpFiles, sftp_server: SftpServer) -> None:
    # Given base_dir /exports, a link on the server to /outbox where the file is
    sftp_server.put("a.csv", b"id,name\r\n1,x\r\n")
    base = sftp_server.link_dir("exports", "/outbox")
    creds = parse_sftp_section(sftp_server.section(base_dir=base))
    # When the file is asked for by its path under base_dir
    with files.open_file("127.0.0.1", sftp_server.port, sftp_path("a.csv", base), creds) as remote:
        body = remote.read(-1)
    # Then it is copied
    assert body == b"id,name\r\n1,x\r\n"


def test_a_link_out_of_a_symlinked_base_dir_is_still_refused(files: SftpFiles, sftp_server: SftpServer) -> None:
    sftp_server.put("secret.csv", b"no", folder="/private")
    sftp_server.symlink("escape.csv", "/private/secret.csv")
    base = sftp_server.link_dir("exports", "/outbox")
    creds = parse_sftp_section(sftp_server.section(base_dir=base))
    with (
        pytest.raises(FileRefused, match="outside base_dir"),
        files.open_file("127.0.0.1", sftp_server.port, sftp_path("escape.csv", base), creds),
    ):
        pass
