"""What the Campaign API simulator (local/simulator.py) is scripted with: status answers and downloadable files."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Step:
    """One answer to a status call. `action` is "json", "raw", "reset" or "hang"."""

    action: str
    status: int = 200
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()

    @staticmethod
    def pending() -> Step:
        return Step("json", 200, {"code": "1010", "description": "The request was not processed."})

    @staticmethod
    def done_update(update_count: int | str, error_file: str | None) -> Step:
        body: dict[str, Any] = {"update-count": update_count}
        if error_file is not None:
            body["error-file"] = error_file
        return Step("json", 200, body)

    @staticmethod
    def done_get(file: str) -> Step:
        return Step("json", 200, {"file": file})

    @staticmethod
    def error(status: int, code: int | str, description: str) -> Step:
        return Step("json", status, {"code": code, "description": description})

    @staticmethod
    def throttle(retry_after: int | None = None) -> Step:
        headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
        return Step("json", 429, {"code": 429, "description": "Throttle limit reached for the time window"}, headers)

    @staticmethod
    def raw(status: int, body: bytes, content_type: str = "text/html") -> Step:
        return Step("raw", status, body, (("Content-Type", content_type),))

    @staticmethod
    def reset() -> Step:
        return Step("reset")

    @staticmethod
    def hang() -> Step:
        return Step("hang")


@dataclass
class FileSpec:
    """A downloadable file: fixed bytes, or `size` bytes produced by `chunks` (for huge files)."""

    data: bytes = b""
    size: int | None = None
    chunks: Callable[[], Iterator[bytes]] | None = None
    faults: list[str] = field(default_factory=list)  # consumed per download: "truncate", "reset", or a status ("500")
    chunked: bool = False  # Transfer-Encoding: chunked, no Content-Length
    gzip: bool = False  # Content-Encoding: gzip; Content-Length (unless chunked) is the compressed size
    # a trickle: called by the server after each chunk it wrote, with the bytes sent so far (tests move their
    # clock here, so a file "served slowly" needs no sleep)
    on_sent: Callable[[int], None] | None = None

    @property
    def length(self) -> int:
        return self.size if self.size is not None else len(self.data)

    def body(self) -> Iterator[bytes]:
        if self.chunks is not None:
            yield from self.chunks()
        else:
            for start in range(0, len(self.data), 65536):
                yield self.data[start : start + 65536]

    def wire(self) -> tuple[int, Iterator[bytes]]:
        """The bytes as sent (compressed when gzip) and how many there are."""
        if not self.gzip:
            return self.length, self.body()
        packed = gzip.compress(b"".join(self.body()))
        return len(packed), iter([packed])
