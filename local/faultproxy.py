"""A fault-injecting HTTP proxy between boto3 clients and the moto server, on 127.0.0.1.

Clients reach it through `endpoint_url` / `AWS_ENDPOINT_URL`; it recognises each call (local/awscalls.py) and,
by seeded dice over its rules, answers with the real AWS error shapes, resets the connection (before or after
the upstream saw the request), holds it past the client's read timeout, fails some PublishBatch entries, or adds
latency, and counts what it injected. Everything else is forwarded to moto unchanged.

    with FaultProxy(moto_endpoint, [Rule("dynamodb", "throttle", probability=0.1)], seed=7) as proxy:
        client = boto3.client("dynamodb", endpoint_url=proxy.url, ...)
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import struct
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

from local import awscalls
from local.awscalls import Answer, Call

# fault kinds: an answer instead of moto's; "-after" variants forward first (the upstream did the work)
FAULTS = (
    "throttle",  # DynamoDB ThrottlingException/400, S3 SlowDown/503, SNS Throttling/400
    "capacity",  # DynamoDB ProvisionedThroughputExceededException/400
    "error",  # DynamoDB InternalServerError/500, S3 InternalError/500, SNS InternalError/500, Secrets 500
    "error-after",  # the same 5xx, after moto applied the request
    "error-in-200",  # S3: 200 with an <Error> body (CompleteMultipartUpload, CopyObject)
    "reset",  # TCP reset before the upstream sees the request
    "reset-after",  # TCP reset after the upstream applied it
    "timeout",  # hold the connection `seconds`, then close it without an answer
    "partial",  # SNS PublishBatch / EventBridge PutEvents: some entries refused, the others delivered
    "latency",  # `seconds` added, then forwarded (combines with one other fault)
)
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade", "expect"}


@dataclass(frozen=True)
class Rule:
    """Inject `fault` into calls of `service` (and one of `operations`, if given) with `probability`;
    at most `times` times when set."""

    service: str
    fault: str
    probability: float = 1.0
    operations: frozenset[str] | None = None
    times: int | None = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; one of {FAULTS}")

    def matches(self, call: Call) -> bool:
        return call.service == self.service and (self.operations is None or call.operation in self.operations)


def ops(*names: str) -> frozenset[str]:
    return frozenset(names)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy

    def handle_error(self, request: object, client_address: object) -> None:
        return  # a client that gave up (timeout fault) or a connection we reset: nothing to report


class FaultProxy:
    def __init__(self, upstream: str, rules: Iterable[Rule] = (), seed: int = 0) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._fired: Counter[Rule] = Counter()
        self.injected: Counter[tuple[str, str, str]] = Counter()  # (service, operation, fault)
        self.calls: Counter[Call] = Counter()
        self.closing = threading.Event()
        self.set_rules(rules)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def total(self) -> int:
        """Faults injected so far (latency included)."""
        with self._lock:
            return sum(self.injected.values())

    def set_rules(self, rules: Iterable[Rule]) -> None:
        with self._lock:
            self._rules = list(rules)
            self._fired.clear()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()

    # -- decisions (under the lock: one seeded sequence whatever the thread interleaving of a call) --

    def decide(self, call: Call) -> tuple[float, Rule | None]:
        """The latency to add and the fault rule that fires for this call, if any; counts both."""
        delay, fault = 0.0, None
        with self._lock:
            self.calls[call] += 1
            for rule in self._rules:
                if not rule.matches(call) or (rule.times is not None and self._fired[rule] >= rule.times):
                    continue
                if rule.fault == "latency":
                    if self._rng.random() < rule.probability:
                        delay += rule.seconds
                        self._fired[rule] += 1
                        self.injected[(call.service, call.operation, "latency")] += 1
                elif fault is None and self._rng.random() < rule.probability:
                    fault = rule
                    self._fired[rule] += 1
                    self.injected[(call.service, call.operation, rule.fault)] += 1
        return delay, fault

    def failing_entries(self, numbers: Sequence[int]) -> set[int]:
        """Some of a batch's entries (at least one, not always all)."""
        with self._lock:
            chosen = {n for n in numbers if self._rng.random() < 0.4}
            return chosen or {self._rng.choice(list(numbers))}

    # -- upstream --

    def forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        conn = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            sent = {k: v for k, v in headers.items() if k not in _HOP and k != "content-length"}
            if body or method in ("POST", "PUT"):
                sent["content-length"] = str(len(body))
            conn.request(method, target, body=body or None, headers=sent)
            response = conn.getresponse()
            data = response.read()
            out = {k.lower(): v for k, v in response.getheaders() if k.lower() not in _HOP}
            if method != "HEAD":
                out["content-length"] = str(len(data))
            return Answer(response.status, out, data)
        finally:
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _serve(self) -> None:
        proxy = self.server.proxy
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._body()
        call = awscalls.recognise(self.command, self.path, headers, body)
        delay, rule = proxy.decide(call)
        if delay and proxy.closing.wait(delay):
            return self._reset()
        fault = rule.fault if rule else None
        if fault in ("reset", "timeout"):
            if fault == "timeout" and rule is not None:
                proxy.closing.wait(rule.seconds)
            return self._reset()
        if fault == "partial" and call.operation == "PublishBatch":
            return self._send(self._partial_batch(proxy, headers, body))
        if fault == "partial" and call.operation == "PutEvents":
            return self._send(self._partial_put_events(proxy, headers, body))
        if fault == "capacity":
            return self._send(awscalls.dynamodb_error("ProvisionedThroughputExceededException"))
        if fault in ("throttle", "error"):
            return self._send(awscalls.throttle(call) if fault == "throttle" else awscalls.server_error(call))
        try:
            answer = proxy.forward(self.command, self.path, headers, body)
        except OSError:
            return self._reset()
        if fault == "reset-after":
            return self._reset()
        if fault == "error-after":
            answer = awscalls.server_error(call)
        elif fault == "error-in-200" and answer.status == 200:
            answer = awscalls.s3_error_in_200()
        return self._send(answer)

    def _partial_batch(self, proxy: FaultProxy, headers: dict[str, str], body: bytes) -> Answer:
        params = awscalls.form_params(headers, body)
        kept, failed_ids = awscalls.split_batch(params, proxy.failing_entries(awscalls.entry_numbers(params)))
        successful: list[tuple[str, str]] = []
        if any(k.startswith("PublishBatchRequestEntries.") for k in kept):
            answer = proxy.forward(self.command, self.path, headers, awscalls.encode_form(kept))
            if answer.status != 200:
                return answer
            for member in ET.fromstring(answer.body).iter():
                if member.tag.endswith("}member") or member.tag == "member":
                    fields = {child.tag.split("}")[-1]: child.text or "" for child in member}
                    if "MessageId" in fields:
                        successful.append((fields["Id"], fields["MessageId"]))
        return awscalls.publish_batch_answer(successful, failed_ids)

    def _partial_put_events(self, proxy: FaultProxy, headers: dict[str, str], body: bytes) -> Answer:
        """Forward the entries that are not refused; answer with EventIds for those, ErrorCode for the others."""
        request = json.loads(body)
        entries = request.get("Entries", [])
        refused = proxy.failing_entries(range(len(entries)))
        kept = [e for n, e in enumerate(entries) if n not in refused]
        ids: list[dict[str, str]] = []
        if kept:
            answer = proxy.forward(self.command, self.path, headers, json.dumps({**request, "Entries": kept}).encode())
            if answer.status != 200:
                return answer
            ids = json.loads(answer.body).get("Entries", [])
        results = []
        for n in range(len(entries)):
            if n in refused:
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error"})
            else:
                results.append(ids.pop(0) if ids else {"EventId": f"local-{n}"})
        return awscalls.put_events_answer(results)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if "content-length" not in answer.headers:
            self.send_header("content-length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)
        self.wfile.flush()

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the connection was reset on purpose
            super().finish()

    def _reset(self) -> None:
        """Close with RST (SO_LINGER 0): the client sees 'connection reset by peer', not a clean end."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()
