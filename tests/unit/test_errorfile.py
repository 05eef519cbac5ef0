"""The error-file parser counts rows and codes: quoting variants, spaces, CRLF, header-only, chunk boundaries,
blank lines, broken input (an unknown count with the reason), the first rows kept, the codes tracked and folded,
and how long an unfinished line may grow. Quoted fields that run over lines: test_errorfile_quoted_fields.py."""

from __future__ import annotations

import pytest

from profile_poller.core.bounds import PARSER_CODES
from profile_poller.core.errorfile import MAX_CARRIED_CHARS, ErrorFileParser, parse_error_file

SAMPLE = (
    b"Code, Description, Index\r\n"
    b'3005, "Invalid Profile ID", 1\r\n'
    b'123 , "Failed, with a comma" , 2\r\n'
    b'7031, "He said \\"no\\"", 3\r\n'
    b'7031, "She said ""yes""", 4\r\n'
)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 65536])
def test_counts_and_first_rows_whatever_the_chunking(chunk: int) -> None:
    summary = parse_error_file(SAMPLE, chunk_size=chunk)
    assert summary.error_count == 4
    assert summary.errors_by_code == {"3005": 1, "123": 1, "7031": 2}
    assert [r.description for r in summary.first_rows] == [
        "Invalid Profile ID",
        "Failed, with a comma",
        'He said "no"',
        'She said "yes"',
    ]
    assert [r.index for r in summary.first_rows] == ["1", "2", "3", "4"]
    assert summary.problem is None


def test_header_only_file_has_zero_errors() -> None:
    summary = parse_error_file(b"Code, Description, Index\r\n")
    assert summary.error_count == 0 and summary.errors_by_code == {}


def test_empty_file_has_zero_errors() -> None:
    assert parse_error_file(b"").error_count == 0


def test_no_trailing_newline_and_bom_and_lf_only() -> None:
    summary = parse_error_file(b'\xef\xbb\xbfCode,Description,Index\n3005,"x",1\n1001,"y",2')
    assert summary.errors_by_code == {"3005": 1, "1001": 1}


@pytest.mark.parametrize("chunk", [1, 3, 65536])
def test_lines_ended_by_a_lone_carriage_return_are_records(chunk: int) -> None:
    # Given a file whose lines end in CR alone (a classic Mac export), When it is parsed in reads of any size
    summary = parse_error_file(b'Code,Description,Index\r3005,"x",1\r7031,y,2\r', chunk_size=chunk)
    # Then each line is a record, counted as with CRLF
    assert summary.problem is None and summary.errors_by_code == {"3005": 1, "7031": 1}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf_16_file_is_never_counted(encoding: str) -> None:
    # Given an error file saved as UTF-16 (with or without its byte-order mark), not UTF-8
    body = "Code,Description,Index\r\n3005,x,1\r\n7031,y,2\r\n".encode(encoding)
    # When it is parsed
    summary = parse_error_file(body)
    # Then no count is made of its bytes: the count is unknown, with a reason, and no code is counted
    assert summary.error_count is None and summary.problem is not None
    assert summary.errors_by_code == {}


def test_only_the_first_ten_rows_are_kept_but_all_are_counted() -> None:
    body = b"Code,Description,Index\r\n" + b"".join(b'3005,"bad",%d\r\n' % i for i in range(1000))
    summary = parse_error_file(body, chunk_size=100)
    assert summary.error_count == 1000 and len(summary.first_rows) == 10


@pytest.mark.parametrize(
    "body", [b'Code,Description,Index\r\n3005,"never closed,1\r\n', b"Code,Description,Index\r\njust-one-field\r\n"]
)
def test_broken_csv_gives_unknown_counts_not_a_crash(body: bytes) -> None:
    summary = parse_error_file(body)
    assert summary.error_count is None and summary.problem


def test_feeding_after_a_problem_is_harmless() -> None:
    parser = ErrorFileParser()
    parser.feed(b"Code,Description,Index\r\nonly\r\n")
    parser.feed(b'3005,"x",1\r\n')
    assert parser.finish().error_count is None


HEADER = b"Code, Description, Index\r\n"


def _rows(count: int, start: int = 0) -> bytes:
    return b"".join(b'3005, "Invalid Profile ID", %d\r\n' % i for i in range(start, start + count))


def test_two_windows_paths_in_one_chunk_are_two_records_not_one() -> None:
    body = HEADER + b'1, "C:\\a\\", 1\r\n' + _rows(5, 2) + b'2, "D:\\b\\", 7\r\n' + _rows(5, 8)
    summary = parse_error_file(body)
    assert summary.problem is None
    assert summary.errors_by_code == {"1": 1, "2": 1, "3005": 10}


def test_a_file_of_all_different_codes_keeps_memory_bounded_and_counts_every_row() -> None:
    # Given 20,000 rows, every code different (each would be a Counter entry held for the whole file)
    body = HEADER + b"".join(b'C%06d, "bad", %d\r\n' % (i, i) for i in range(20_000))
    parser = ErrorFileParser()
    for start in range(0, len(body), 65536):
        parser.feed(body[start : start + 65536])
    summary = parser.finish()
    # Then every row is counted, the rarest codes folded into "(other)" past PARSER_CODES distinct ones
    assert summary.error_count == 20_000 and sum(summary.errors_by_code.values()) == 20_000
    assert len(summary.errors_by_code) <= PARSER_CODES + 1 and summary.errors_by_code["(other)"] > 0


def test_exactly_ten_first_rows_and_codes_counted_from_the_first_field_after_them() -> None:
    rows = [b'%d,"row %d",%d\r\n' % (1000 + i, i, i) for i in range(12)]
    summary = parse_error_file(b"Code,Description,Index\r\n" + b"".join(rows) + b"3005,x,99\r\n")
    assert [r.code for r in summary.first_rows] == [str(1000 + i) for i in range(10)]
    assert summary.errors_by_code == {**{str(1000 + i): 1 for i in range(12)}, "3005": 1}


def test_a_file_without_a_header_counts_its_first_row() -> None:
    summary = parse_error_file(b'3005,"x",1\r\n7031,"y",2\r\n')
    assert summary.errors_by_code == {"3005": 1, "7031": 1} and summary.first_rows[0].code == "3005"


def test_an_unquoted_description_with_commas_is_joined_back() -> None:
    [row] = parse_error_file(b"Code,Description,Index\r\n3005, a, b ,7\r\n").first_rows
    assert (row.code, row.description, row.index) == ("3005", "a, b", "7")


def test_blank_lines_are_skipped_anywhere() -> None:
    body = b"\r\nCode,Description,Index\r\n\r\n3005,x,1\r\n" + b"".join(b"7031,y,%d\r\n\r\n" % i for i in range(12))
    summary = parse_error_file(body, chunk_size=3)
    assert summary.problem is None and summary.errors_by_code == {"3005": 1, "7031": 12}


@pytest.mark.parametrize("late", [False, True])
def test_a_short_record_is_a_problem_with_what_was_seen_so_far(late: bool) -> None:
    good = b"".join(b'3005,"x",%d\r\n' % i for i in range(12 if late else 1))
    summary = parse_error_file(b"Code,Description,Index\r\n" + good + b"7031,only two\r\n3005,x,1\r\n")
    assert summary.error_count is None and summary.errors_by_code == {}
    assert summary.problem == "a record has 2 field(s), expected Code, Description, Index"
    assert len(summary.first_rows) == min(len(good.splitlines()), 10)


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    summary = parse_error_file(b'Code,Description,Index\r\n3005,"caf\xe9",1\r\n')
    assert summary.error_count == 1 and summary.first_rows[0].description == "caf\ufffd"


def test_a_line_without_end_is_a_problem() -> None:
    body = b'Code,Description,Index\r\n3005,"' + b"x" * 1_000_001
    summary = parse_error_file(body, chunk_size=1 << 20)
    assert summary.error_count is None
    assert summary.problem is not None
    assert summary.problem.startswith("a line runs past") and summary.problem.endswith(
        "characters without a line break"
    )


def _line_of(chars: int) -> bytes:
    return b'3005, "' + b"x" * (chars - len(b'3005, "') - len(b'", 1')) + b'", 1'


@pytest.mark.parametrize("pieces", [1, 4], ids=["one-feed", "in-pieces-without-a-break"])
def test_an_unfinished_line_of_exactly_the_cap_is_waited_for(pieces: int) -> None:
    # Given a record of exactly MAX_CARRIED_CHARS characters whose line break arrives in a later feed
    line = _line_of(MAX_CARRIED_CHARS)
    parser = ErrorFileParser()
    if pieces == 1:  # after a line break in the same feed
        parser.feed(HEADER + line)
    else:  # in pieces that hold no line break
        parser.feed(HEADER)
        step = len(line) // pieces + 1
        for start in range(0, len(line), step):
            parser.feed(line[start : start + step])
    assert parser.carried_chars == MAX_CARRIED_CHARS
    parser.feed(b"\r\n")
    # Then it is counted like any other
    summary = parser.finish()
    assert summary.problem is None and summary.errors_by_code == {"3005": 1}


@pytest.mark.parametrize("pieces", [1, 4], ids=["one-feed", "in-pieces-without-a-break"])
def test_an_unfinished_line_one_character_past_the_cap_stops_the_count(pieces: int) -> None:
    line = _line_of(MAX_CARRIED_CHARS + 1)
    parser = ErrorFileParser()
    parser.feed(HEADER)
    step = len(line) // pieces + 1
    for start in range(0, len(line), step):
        parser.feed(line[start : start + step])
    summary = parser.finish()
    assert summary.error_count is None
    assert summary.problem == "a line runs past 131,072 characters without a line break"


def test_many_rows_in_one_large_feed_are_all_counted() -> None:
    # Given 300 KB of ordinary rows handed over in one piece (more than MAX_CARRIED_CHARS in one feed)
    body = HEADER + b"".join(b'3005, "Invalid Profile ID", %d\r\n' % i for i in range(10_000))
    parser = ErrorFileParser()
    parser.feed(body)
    summary = parser.finish()
    # Then every row counts, and nothing is left carried
    assert summary.problem is None and summary.errors_by_code == {"3005": 10_000}
    assert parser.carried_chars == 0


def test_a_single_record_with_a_field_past_the_csv_limit_is_unreadable_not_silently_dropped() -> None:
    # Given one record whose description is 140,000 characters on one line (csv reads at most 131,072)
    parser = ErrorFileParser()
    parser.feed(HEADER)
    parser.feed(b'3005, "' + b"x" * 140_000 + b'", 1\r\n')
    # When the file ends, Then the count is unknown (never 0) and the reason is csv's
    summary = parser.finish()
    assert summary.error_count is None
    assert summary.problem == "unreadable CSV: field larger than field limit (131072)"


def test_more_codes_than_the_parser_tracks_keeps_the_commonest_exactly_and_folds_the_rest() -> None:
    # Given 3,000 rows, every code different
    body = HEADER + b"".join(b'C%06d, "bad", %d\r\n' % (i, i) for i in range(3000))
    summary = parse_error_file(body)
    # Then the parser tracks PARSER_CODES codes (OTHER_CODE among them), the rest counted under OTHER_CODE
    assert len(summary.errors_by_code) == PARSER_CODES
    assert summary.errors_by_code["(other)"] == 3000 - (PARSER_CODES - 1)


def test_exactly_as_many_codes_as_the_parser_tracks_are_all_kept() -> None:
    body = HEADER + b"".join(b'C%06d, "bad", %d\r\n' % (i, i) for i in range(PARSER_CODES))
    summary = parse_error_file(body, chunk_size=4096)
    assert len(summary.errors_by_code) == PARSER_CODES and "(other)" not in summary.errors_by_code


def test_a_multi_byte_character_cut_off_at_the_very_end_is_replaced_not_dropped() -> None:
    summary = parse_error_file(HEADER + b'3005, "x", 1\xe2\x82')
    assert summary.problem is None and summary.first_rows[0].index == "1\ufffd"


def test_only_the_first_record_can_be_the_header_a_later_code_row_is_counted() -> None:
    summary = parse_error_file(b"Code,Description,Index\nE1,bad,1\ncode,bad,2\n")
    assert summary.error_count == 2 and summary.errors_by_code == {"E1": 1, "code": 1}
