"""The archived object's `source` metadata is the file value as the message shows it: a pre-signed URL's query (its
signature, a credential) is not stored with the archive (issue 17, item 12)."""

from __future__ import annotations

from profile_poller.core.classify import Finished
from profile_poller.core.copier import FileCopier
from profile_poller.core.items import PendingRequest
from profile_poller.core.model import Kind
from profile_poller.core.ports import Credentials
from tests.fakes import FakeApi, FakeArchive, FakeFile

SIGNED = "https://files.example/out/a.csv?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA%2F"
REQUEST = PendingRequest("r1", Kind.GET, 1_800_000_000, 1, 0)


def test_a_signed_urls_query_is_not_in_the_archived_objects_metadata() -> None:
    # Given a finished request whose file is a pre-signed URL
    archive = FakeArchive()
    api = FakeApi(files={SIGNED: [FakeFile(b"id\r\n1\r\n")]})
    copier = FileCopier(api, archive, "p", 1000, file_hosts=frozenset({"files.example"}))
    # When it is copied
    copied = copier.copy(REQUEST, Finished(SIGNED, None, None), Credentials("k", "https://tenant.example"))
    # Then the archive holds it, and its metadata names the file without the query
    assert copied.files[0].archived
    [metadata] = archive.metadata.values()
    assert metadata["source"] == "https://files.example/out/a.csv"
    assert "deadbeef" not in str(metadata) and "AKIA" not in str(metadata)
