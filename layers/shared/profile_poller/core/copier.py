"""Copies a finished request's files (`error-file`, `file`) into the archive. Ports only.

Each file streams from the API adapter through a MeteredReader (SHA-256, size cap, truncation check, the
error-file parser) into the archive, which then stamps the checksum into the object's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

from .classify import Finished
from .errorfile import ErrorFileParser
from .model import ErrorSummary, Kind, PendingRequest, StoredFile, archive_key
from .ports import Archive, Credentials, StatusApi
from .streams import MeteredReader


@dataclass(frozen=True)
class Copied:
    files: tuple[StoredFile, ...]
    errors: ErrorSummary | None  # None when there was no error file


def infer_kind(kind: Kind, answer: Finished) -> Kind:
    """A producer may leave `kind` out: a lone `file` is a get, anything with errors or a count an update."""
    if kind is not Kind.UNKNOWN:
        return kind
    return Kind.GET if answer.file and not answer.error_file else Kind.UPDATE


class FileCopier:
    def __init__(self, api: StatusApi, archive: Archive, prefix: str, max_bytes: int) -> None:
        self._api = api
        self._archive = archive
        self._prefix = prefix
        self._max_bytes = max_bytes

    def copy(self, request: PendingRequest, answer: Finished, credentials: Credentials) -> Copied:
        """Raises TransportError (retry), FileRefused (terminal) or StoreError (our side) from the adapters."""
        files: list[StoredFile] = []
        errors: ErrorSummary | None = None
        for role, path in (("error-file", answer.error_file), ("file", answer.file)):
            if path is None:
                continue
            parser = ErrorFileParser() if role == "error-file" else None
            key = archive_key(self._prefix, request.request_id, request.submitted_at, role, path)
            metadata = {"request-id": request.request_id, "role": role, "source": path}
            with self._api.open_file(path, credentials) as remote:
                reader = MeteredReader(remote, self._max_bytes, parser.feed if parser else None)
                uri = self._archive.put(key, reader, metadata)
            self._archive.stamp(key, {**metadata, "sha256": reader.sha256, "bytes": str(reader.bytes_read)})
            files.append(StoredFile(role, path, uri, reader.bytes_read, reader.sha256))
            if parser is not None:
                errors = parser.finish()
        return Copied(tuple(files), errors)
