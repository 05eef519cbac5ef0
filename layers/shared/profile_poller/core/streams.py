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
        """Up to `size` bytes (all that is left when negative), short only at the end of the file.

        The source may return less than asked whenever less has arrived (the HTTP adapter returns what the socket
        has); reading on until `size` keeps S3 parts full (every part but the last must be at least 5 MiB), and
        lets a wrapped source check its deadline between the pieces."""
        if size == 0:
            return b""
        pieces: list[bytes] = []
        got = 0
        while size < 0 or got < size:
            chunk = self._source.read(size - got if size > 0 else -1)
            if not chunk:
                self._end()
                break
            self._take(chunk)
            pieces.append(chunk)
            got += len(chunk)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _take(self, chunk: bytes) -> None:
        self.bytes_read += len(chunk)
        if self.bytes_read > self._max:
            raise FileRefused(f"file exceeds the {self._max}-byte cap (MAX_FILE_BYTES)")
        self._hash.update(chunk)
        if self._on_chunk is not None:
            self._on_chunk(chunk)

    def _end(self) -> None:
        expected = self._source.content_length
        if expected is not None and self.bytes_read != expected:
            raise TransportError(f"truncated download: got {self.bytes_read} of {expected} bytes")
        self.finished = True

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()
