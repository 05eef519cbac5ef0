"""The poison inputs of issue 12 mixed into the chaos run, and what each must end as.

Every 25th request from the 5th is a stray quote (a Windows path) at the top of its error file; from the 10th, a
quote never closed; from the 15th, an oversized error summary (120,000-character descriptions, an empty code, 300
distinct codes); from the 20th, an item whose `submitted_at` is in milliseconds. Each must settle once, with a
message saying what the poller could tell, like any other request, and never stall its neighbours. (Like any
request, one may expire or fail before the API gives its final answer; then its file was never read.)
"""

from __future__ import annotations

import random
import time
from typing import Any

from local.simulator import FileSpec, Simulator, Step

HEADER = b"Code, Description, Index\r\n"
ROWS = 200
FILE_POISONS = ("stray-quote", "unclosed-quote", "oversized-summary")
KINDS = {5: "stray-quote", 10: "unclosed-quote", 15: "oversized-summary", 20: "ms-submitted-at"}


def poison_of(index: int) -> str | None:
    return KINDS.get(index % 25)


def _rows(count: int) -> bytes:
    return b"".join(b'3005, "Invalid Profile ID", %d\r\n' % i for i in range(1, count + 1))


def error_file(kind: str) -> bytes:
    if kind == "stray-quote":
        return HEADER + b'7031, "C:\\temp\\", 0\r\n' + _rows(ROWS)
    if kind == "unclosed-quote":
        return HEADER + b'7031, "never closed, 0\r\n' + _rows(ROWS)
    huge = b"".join(b'%d, "%s", %d\r\n' % (9000 + i, b"x" * 120_000, i) for i in range(3))
    many = b"".join(b'C%d, "bad", %d\r\n' % (i, i) for i in range(300))
    return HEADER + huge + b', "no code", 99\r\n' + many


def script(sim: Simulator, rid: str, kind: str, rng: random.Random, file_faults: list[list[str]]) -> dict[str, bytes]:
    """Script a file poison (replacing the request's plan); return the files it should end up with, by role."""
    data = error_file(kind)
    name = f"{rid}.csv"
    sim.add_file(name, FileSpec(data, faults=list(rng.choice(file_faults))))
    path = sim.api_file_path(name) if rng.random() < 0.5 else sim.public_file_url(name)
    steps = ([Step.pending()] if rng.random() < 0.5 else []) + [Step.done_update(rng.randint(0, 99), path)]
    sim.script(rid, *steps)
    return {"error-file": data}


def exercised(kind: str, sent: list[dict[str, Any]]) -> bool:
    """The poison really reached the code it targets (the file was read; the item's time was used)."""
    if kind == "ms-submitted-at":
        return bool(sent)
    return any(m["status"] == "COMPLETED" and all(f.get("archived", True) for f in m["files"]) for m in sent)


def problem(kind: str, item: dict[str, Any], sent: list[dict[str, Any]], submitted: int) -> str | None:
    """Why this poisoned request did not end as it must, or None."""
    if item.get("status") in (None, "PENDING") or len({m["event_id"] for m in sent}) != 1:
        return f"{kind}: status {item.get('status')}, {len(sent)} message(s)"
    message = sent[0]
    if kind == "ms-submitted-at":
        want = time.strftime("%Y-%m-%d", time.gmtime(submitted))
        return None if message["submitted_at"][:10] == want else f"{kind}: submitted_at {message['submitted_at']}"
    if message["status"] != "COMPLETED" or not all(f.get("archived", True) for f in message["files"]):
        return None  # expired or failed before the final answer, or the file given up: the poison was never read
    count, codes = message["error_count"], message["errors_by_code"]
    if kind == "stray-quote" and count != ROWS + 1:
        return f"{kind}: error_count {count}"
    if kind == "unclosed-quote" and (count is not None or "inconsistent quoting" not in (message["reason"] or "")):
        return f"{kind}: error_count {count}, reason {message['reason']!r}"
    if kind == "oversized-summary" and (
        count != 304
        or len(codes) > 50
        or sum(codes.values()) != count
        or codes.get("(empty)") != 1
        or any(len(r["description"]) > 300 for r in message["first_errors"])
    ):
        return f"{kind}: error_count {count}, {len(codes)} codes"
    return None
