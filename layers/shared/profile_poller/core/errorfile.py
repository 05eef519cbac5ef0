"""Streaming parser for the Campaign error file (DESIGN §1): fed bytes as they pass to S3.

Format: CSV, `\\r\\n` records, header `Code, Description, Index`, description in double quotes with
the quote escaped as `\\"` or `""`, spaces around fields allowed. Memory stays bounded by one chunk
plus one unfinished record, whatever the file size.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter

from .model import ErrorRow, ErrorSummary

FIRST_ROWS = 10
MAX_RECORD_CHARS = 1_000_000
SLICE = 1024 * 1024  # a "record" longer than this means the quoting is broken


class ErrorFileParser:
    def __init__(self, first_rows: int = FIRST_ROWS) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._pending = ""  # an unfinished record (no newline yet, or an open quote)
        self._counts: Counter[str] = Counter()
        self._rows: list[ErrorRow] = []
        self._first_rows = first_rows
        self._seen_first_record = False
        self._problem: str | None = None

    def feed(self, data: bytes) -> None:
        # slices bound the transient memory of a large read (decoded text, lines, rows) to a few MiB
        for start in range(0, len(data), SLICE):
            if self._problem is not None:
                return
            self._consume(self._decoder.decode(data[start : start + SLICE]), final=False)

    def finish(self) -> ErrorSummary:
        if self._problem is None:
            self._consume(self._decoder.decode(b"", final=True), final=True)
        if self._problem is not None:
            return ErrorSummary(error_count=None, errors_by_code={}, first_rows=self._rows, problem=self._problem)
        return ErrorSummary(
            error_count=sum(self._counts.values()),
            errors_by_code=dict(self._counts),
            first_rows=self._rows,
        )

    def _consume(self, text: str, final: bool) -> None:
        data = self._pending + text
        cut = len(data) if final else data.rfind("\n") + 1
        self._pending = data[cut:]
        if len(self._pending) > MAX_RECORD_CHARS:
            self._problem = "a record runs past 1,000,000 characters (broken quoting?)"
            return
        if cut == 0:
            return
        block = data[:cut]
        if _quotes_balanced(block):  # the common case: csv itself joins multi-line quoted fields
            self._parse(block.splitlines())
            return
        lines = block.splitlines()
        records: list[str] = []
        partial = ""
        for line in lines:
            partial = f"{partial}\n{line}" if partial else line
            if _quotes_balanced(partial):
                records.append(partial)
                partial = ""
        if partial:
            if final:
                self._problem = "the file ends inside a quoted field"
                return
            self._pending = partial + "\n" + self._pending
        self._parse(records)

    def _parse(self, records: list[str]) -> None:
        rows = csv.reader(records, skipinitialspace=True, escapechar="\\", doublequote=True, strict=False)
        counts = self._counts
        try:
            for fields in rows:
                if len(self._rows) < self._first_rows or not self._seen_first_record:
                    self._record([f.strip() for f in fields])
                elif len(fields) >= 3:  # the hot loop: millions of rows, only the code matters
                    counts[fields[0].strip()] += 1
                    continue
                elif any(f.strip() for f in fields):
                    self._problem = f"a record has {len(fields)} field(s), expected Code, Description, Index"
                if self._problem is not None:
                    return
        except csv.Error as exc:
            self._problem = f"unreadable CSV: {exc}"

    def _record(self, fields: list[str]) -> None:
        if not any(fields):
            return
        if not self._seen_first_record:
            self._seen_first_record = True
            if fields[0].lower() == "code":
                return
        if len(fields) < 3:
            self._problem = f"a record has {len(fields)} field(s), expected Code, Description, Index"
            return
        self._counts[fields[0]] += 1
        if len(self._rows) < self._first_rows:
            self._rows.append(ErrorRow(code=fields[0], description=", ".join(fields[1:-1]), index=fields[-1]))


def _quotes_balanced(record: str) -> bool:
    """True when a record holds no open quoted field (`\\"` escapes do not count)."""
    return (record.count('"') - record.count('\\"')) % 2 == 0


def parse_error_file(data: bytes, chunk_size: int = 65536) -> ErrorSummary:
    """Parse a whole error file held in memory (tests, the CLI); the sweep feeds chunks instead."""
    parser = ErrorFileParser()
    for start in range(0, len(data), chunk_size):
        parser.feed(data[start : start + chunk_size])
    return parser.finish()
