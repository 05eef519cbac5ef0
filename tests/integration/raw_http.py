"""A bare HTTP/1.1 listener on 127.0.0.1 for the Campaign API client's tests: it answers every request with the
bytes the test gives (status line, headers and body as they go on the wire), over TLS when given a context, and
records what came over the wire: every connection accepted (a TLS handshake is one, failed or not), every request
line and its headers as sent, the connection each came on, and how many bytes of answers it got out.

The simulator (local/simulator.py) speaks the API's contract; this one is for what it cannot show: the request line
before any server tidies it, connections and handshakes counted, odd headers, endless bodies."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType


@dataclass(frozen=True)
class Seen:
    connection: int  # which connection it came on, numbered from 1 in the order they were accepted
    line: str  # the request line as sent: "GET /path HTTP/1.1"
    headers: dict[str, str]  # names lower-cased

    @property
    def path(self) -> str:
        return self.line.split(" ")[1]


def answer(status: int, body: bytes = b"", headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A whole answer with a Content-Length."""
    head = [f"HTTP/1.1 {status} Answer", *(f"{name}: {value}" for name, value in headers)]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


Answer = Callable[[Seen], Iterable[bytes]]


class RawServer:
    def __init__(
        self, respond: Answer, tls: ssl.SSLContext | None = None, hold: threading.Barrier | None = None
    ) -> None:
        """`respond` gives the bytes of each answer, piece by piece; `hold` makes every request wait at the
        barrier before it is answered (so a test knows that many were in flight at once)."""
        self._respond = respond
        self._tls = tls
        self._hold = hold
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.connections = 0
        self.requests: list[Seen] = []
        self.sent = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._accepting = threading.Thread(target=self._accept, daemon=True, name="raw-http")

    def __enter__(self) -> RawServer:
        self._accepting.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)  # ends the accept() under way
        self._listener.close()
        self._accepting.join(timeout=5)

    def finished(self) -> None:
        """Wait until every connection accepted so far has ended (the client hung up, or the answer was cut)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=10)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                thread = threading.Thread(target=self._serve, args=(client, self.connections), daemon=True)
                self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket, number: int) -> None:
        client.settimeout(10)
        try:
            with client:
                conn = self._tls.wrap_socket(client, server_side=True) if self._tls else client
                with conn, conn.makefile("rb") as incoming:
                    while self._one(conn, incoming, number):
                        pass
        except OSError:  # a refused handshake, a client that hung up mid-answer: part of what is tested
            return

    def _one(self, conn: socket.socket, incoming: Iterable[bytes], number: int) -> bool:
        lines: list[str] = []
        for raw in incoming:
            line = raw.decode("latin-1").rstrip("\r\n")
            if not line:
                break
            lines.append(line)
        if not lines:
            return False  # the client closed the connection
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        seen = Seen(number, lines[0], headers)
        with self._lock:
            self.requests.append(seen)
        if self._hold is not None:
            self._hold.wait(timeout=10)
        for piece in self._respond(seen):
            conn.sendall(piece)
            with self._lock:
                self.sent += len(piece)
        return True
