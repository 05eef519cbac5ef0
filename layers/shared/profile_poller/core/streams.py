"""A pass-through reader that hashes, counts, caps and checks a download while S3 pulls it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from .ports import FileRefused, RemoteFile, TransportError


class MeteredReader:
    """Wraps a RemoteFile: every byte read goes through SHA-256, a size cap and an optional observer.

    Raises TransportError at the end if fewer bytes came than the server announced (a truncated
    download), and FileRefused as soon as the cap is passed. Either aborts the upload that reads it.
    """

    def __init__(
        self,
        source: RemoteFile,
        max_bytes: int,
        on_chunk: Callable[[bytes], None] | None = None,
    ) -> None:
        length = source.content_length
        if length is not None and length > max_bytes:
            raise FileRefused(f"file is {length} bytes, over the {max_bytes}-byte cap (MAX_FILE_BYTES)")
        self._source = source
        self._max = max_bytes
        self._on_chunk = on_chunk
        self._hash = hashlib.sha256()
        self.bytes_read = 0
        self.finished = False

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._source.read(size)
        if chunk:
            self.bytes_read += len(chunk)
            if self.bytes_read > self._max:
                raise FileRefused(f"file exceeds the {self._max}-byte cap (MAX_FILE_BYTES)")
            self._hash.update(chunk)
            if self._on_chunk is not None:
                self._on_chunk(chunk)
            return chunk
        if size == 0:
            return chunk
        expected = self._source.content_length
        if expected is not None and self.bytes_read != expected:
            raise TransportError(f"truncated download: got {self.bytes_read} of {expected} bytes")
        self.finished = True
        return chunk

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()
