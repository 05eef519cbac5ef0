"""A file value on an SFTP host (or port) the secret pins no key for is that file's refusal, not a systemic stop: the
request completes with the file not archived and the reason, and the sweep goes on (issue 17, item 5)."""

from __future__ import annotations

from local.sftp_server import SftpServer
from profile_poller.adapters.sftp import SftpFiles
from profile_poller.adapters.sftp_secret import parse_sftp_section
from profile_poller.core.classify import Finished
from profile_poller.core.copier import FileCopier
from profile_poller.core.items import PendingRequest
from profile_poller.core.model import Kind
from profile_poller.core.ports import Credentials
from tests.fakes import FakeApi, FakeArchive

REQUEST = PendingRequest("r1", Kind.GET, 1_800_000_000, 1, 0)


def test_a_file_on_a_port_without_a_pinned_key_is_not_archived_with_the_reason(sftp_server: SftpServer) -> None:
    # Given a secret pinning the server's key for its port, and a file value naming another port of that host
    creds = Credentials("k", "https://tenant.example", sftp=parse_sftp_section(sftp_server.section()))
    files = SftpFiles(timeout_seconds=2.0)
    copier = FileCopier(FakeApi(), FakeArchive(), "p", 1000, sftp=files)
    value = f"sftp://127.0.0.1:{sftp_server.port + 1 if sftp_server.port < 65535 else 1}/outbox/a.csv"
    try:
        # When the request's file is copied
        copied = copier.copy(REQUEST, Finished(value, None, None), creds)
    finally:
        files.end_sweep()
    # Then the file settles as not archived, with the reason; nothing is left to retry, nothing was dialled
    [stored] = copied.files
    assert not stored.archived and "no pinned host key" in (stored.reason or "")
    assert copied.unsettled == ()
    assert sftp_server.connections == 0
