"""Streaming parser for the Campaign error file (DESIGN §1): fed bytes as they pass to S3.

Format: CSV, `\\r\\n` records, header `Code, Description, Index`, description in double quotes with
the quote escaped as `\\"` or `""`, spaces around fields allowed.

Linear time and bounded memory whatever the quoting: every character is looked at a fixed number of times,
and the text carried between slices (an unfinished line, or the lines of a record whose quote is still open)
is capped at MAX_CARRIED_CHARS. Quoting rules, line by line:

- a line whose quotes balance (with `\\"` read as an escaped quote) is one record (the common case, parsed
  by `csv` in C a slice at a time);
- a line that balances only when the backslash is read as a plain character (a Windows path such as
  `"C:\\temp\\"`, the one ambiguity of the format) is read that way;
- otherwise the line opens a quoted field that runs over the next lines (a description with a line break);
  the record must close within MAX_CARRIED_CHARS and have three fields. If not, the quoting is inconsistent:
  the parser stops counting and the file is archived with `error_count: null` and the reason.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter

from .bounds import FIRST_ROWS, PARSER_CODES, fold_codes
from .model import ErrorRow, ErrorSummary

MAX_CARRIED_CHARS = 128 * 1024  # an unfinished line or an open quoted record (csv reads no longer field)
SLICE = 1024 * 1024  # decoded and parsed a slice at a time: transient memory of a few MiB
_FIELDS = "expected Code, Description, Index"


def _open_quote(line: str) -> bool:
    """A cheap first look (C speed): an odd number of quotes, `\\"` counting as an escaped one. Even, a slice goes
    to csv in one pass; odd, it is read line by line, each line with `_opens_a_quoted_field`."""
    return (line.count('"') - line.count('\\"')) % 2 == 1


def _opens_a_quoted_field(line: str) -> bool:
    """Whether the line ends inside a quoted field it opened, read as the csv reader reads it (skipinitialspace,
    escapechar `\\`, `""` doubled): a `"` opens a quoted field only as a field's first character after its spaces;
    one inside an unquoted field (`3005, 5" screen, 1`, an inch mark) is a plain character. So a slice read line by
    line reads such a line as the one-pass reading does, wherever the reads cut the file."""
    if '"' not in line:
        return False
    quoted, start = False, True  # inside a quoted field; at a field's first character (after its spaces)
    i, end = 0, len(line)
    while i < end:
        c = line[i]
        if c == "\\":  # the escape character: the next one is plain
            start = False
            i += 2
            continue
        if quoted:
            if c == '"':
                if line.startswith('"', i + 1):  # doubled: a quote inside the field
                    i += 2
                    continue
                quoted = False
        elif c == '"' and start:
            quoted, start = True, False
        elif c == ",":
            start = True
        elif c != " ":
            start = False
        i += 1
    return quoted


class ErrorFileParser:
    def __init__(self, first_rows: int = FIRST_ROWS) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._tail = ""  # the unfinished last line of what was fed so far
        self._carry: list[str] = []  # the lines of a record whose quoted field is still open
        self._carry_chars = 0
        self._opened = 0  # the line on which the carried record's quoted field opened
        self._line = 0  # lines consumed so far (for the reasons given)
        self._counts: Counter[str] = Counter()
        self._rows: list[ErrorRow] = []
        self._first_rows = first_rows
        self._seen_first_record = False
        self._problem: str | None = None

    @property
    def carried_chars(self) -> int:
        """Characters held between slices: at most MAX_CARRIED_CHARS plus one line of the last slice."""
        return len(self._tail) + self._carry_chars

    def feed(self, data: bytes) -> None:
        for start in range(0, len(data), SLICE):
            if self._problem is not None:
                return  # the bytes still pass to S3; the parser no longer looks at them
            self._consume(self._decoder.decode(data[start : start + SLICE]), final=False)

    def finish(self) -> ErrorSummary:
        if self._problem is None:
            self._consume(self._decoder.decode(b"", final=True), final=True)
        if self._problem is None and self._carry:
            self._problem = f"inconsistent quoting: the file ends inside a quoted field opened on line {self._opened}"
        if self._problem is not None:
            return ErrorSummary(error_count=None, first_rows=self._rows, problem=self._problem)
        return ErrorSummary(
            error_count=sum(self._counts.values()),
            errors_by_code=dict(self._counts),
            first_rows=self._rows,
        )

    # -- lines -------------------------------------------------------------------------------

    def _consume(self, text: str, final: bool) -> None:
        cut = text.rfind("\n") + 1
        if cut == 0 and not final:
            self._tail += text
            if len(self._tail) > MAX_CARRIED_CHARS:
                self._problem = f"a line runs past {MAX_CARRIED_CHARS:,} characters without a line break"
            return
        block = self._tail + (text if final else text[:cut])
        self._tail = "" if final else text[cut:]
        if len(self._tail) > MAX_CARRIED_CHARS:
            self._problem = f"a line runs past {MAX_CARRIED_CHARS:,} characters without a line break"
            return
        lines = block.splitlines()
        if not self._carry and not _open_quote(block):
            self._fast(lines)
        else:
            self._careful(lines)
        if len(self._counts) > PARSER_CODES:  # all codes different: memory stays bounded, the rarest are "other"
            self._counts = Counter(fold_codes(self._counts, PARSER_CODES))

    def _fast(self, lines: list[str]) -> None:
        """The common case: csv reads the slice in C, one record a line. If a quoted field ran over a line
        break (fewer records than lines), the slice's counts are undone and it is read line by line instead."""
        counts = self._counts
        saved = (counts.copy(), len(self._rows), self._seen_first_record)
        rows = csv.reader(lines, skipinitialspace=True, escapechar="\\")  # csv defaults: "" in quotes, not strict
        records = 0
        try:
            hot = self._seen_first_record and len(self._rows) >= self._first_rows
            for records, fields in enumerate(rows, 1):  # noqa: B007 - read after the loop
                if hot and len(fields) >= 3:  # the hot loop: millions of rows, only the code matters
                    counts[fields[0].strip()] += 1
                    continue
                self._take(fields)
                if self._problem is not None:
                    break
                hot = self._seen_first_record and len(self._rows) >= self._first_rows
        except csv.Error:
            records = -1  # e.g. a field over csv's limit: the careful reading caps it instead
        # csv ends a quoted field still open at the end of its input: a slice whose last line opens one (which a
        # later line may close, or nothing) is for the careful reading, whatever csv made of it
        ends_open = bool(lines) and _opens_a_quoted_field(lines[-1])
        if not ends_open and (records == len(lines) or (self._problem is not None and records == rows.line_num)):
            self._line += len(lines)
            return
        self._counts, self._problem = saved[0], None
        del self._rows[saved[1] :]
        self._seen_first_record = saved[2]
        self._careful(lines)

    def _careful(self, lines: list[str]) -> None:
        """Line by line, tracking the open quote incrementally: each line is counted once, joined once."""
        plain: list[str] = []
        for line in lines:
            if self._problem is not None:
                return
            self._line += 1
            if self._carry:
                self._carry.append(line)
                self._carry_chars += len(line) + 1
                if _open_quote(line):  # the quote closes on this line (an odd number of quotes on it)
                    self._flush(plain)
                    self._closed_record()
                elif self._carry_chars > MAX_CARRIED_CHARS:
                    self._problem = (
                        f"inconsistent quoting: a quoted field opened on line {self._opened} is still open after "
                        f"{MAX_CARRIED_CHARS:,} characters"
                    )
                continue
            if not _opens_a_quoted_field(line):
                plain.append(line)
            elif line.count('"') % 2 == 0:  # balances with `\` as a plain character: `"C:\temp\"`
                self._flush(plain)
                self._parse([line], escapechar=None)
            else:
                self._flush(plain)
                self._opened = self._line
                self._carry = [line]
                self._carry_chars = len(line) + 1
        self._flush(plain)

    def _flush(self, plain: list[str]) -> None:
        if plain and self._problem is None:
            self._parse(plain)
        plain.clear()

    def _closed_record(self) -> None:
        record, first = "\n".join(self._carry), self._opened
        self._carry, self._carry_chars = [], 0
        try:
            fields = next(csv.reader([record], skipinitialspace=True, escapechar="\\"))
        except csv.Error as exc:
            self._problem = f"inconsistent quoting on lines {first}-{self._line}: {exc}"
            return
        if len(fields) != 3:
            self._problem = (
                f"inconsistent quoting: the quoted field opened on line {first} closes on line {self._line} "
                f"in a record of {len(fields)} fields, {_FIELDS}"
            )
            return
        self._take(fields)

    # -- records -----------------------------------------------------------------------------

    def _parse(self, records: list[str], escapechar: str | None = "\\") -> None:
        rows = csv.reader(records, skipinitialspace=True, escapechar=escapechar)
        try:
            for fields in rows:
                self._take(fields)
                if self._problem is not None:
                    return
        except csv.Error as exc:
            self._problem = f"unreadable CSV: {exc}"

    def _take(self, fields: list[str]) -> None:
        if len(self._rows) >= self._first_rows and self._seen_first_record:
            if len(fields) >= 3:
                self._counts[fields[0].strip()] += 1
            elif any(f.strip() for f in fields):
                self._problem = f"a record has {len(fields)} field(s), {_FIELDS}"
            return
        self._record([f.strip() for f in fields])

    def _record(self, fields: list[str]) -> None:
        if not any(fields):
            return
        if not self._seen_first_record:
            self._seen_first_record = True
            if fields[0].lower() == "code":
                return
        if len(fields) < 3:
            self._problem = f"a record has {len(fields)} field(s), {_FIELDS}"
            return
        self._counts[fields[0]] += 1
        if len(self._rows) < self._first_rows:
            self._rows.append(ErrorRow(code=fields[0], description=", ".join(fields[1:-1]), index=fields[-1]))


def parse_error_file(data: bytes, chunk_size: int = 65536) -> ErrorSummary:
    """Parse a whole error file held in memory (tests, the CLI); the sweep feeds chunks instead."""
    parser = ErrorFileParser()
    for start in range(0, len(data), chunk_size):
        parser.feed(data[start : start + chunk_size])
    return parser.finish()
