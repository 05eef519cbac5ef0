"""The error-file parser at its edges: records whose quoted field runs over lines (escapes, text after the
closing quote, the wrong shape, a field past csv's limit), and the exact reasons given when counting stops."""

from __future__ import annotations

import pytest

from profile_poller.core.bounds import PARSER_CODES
from profile_poller.core.errorfile import MAX_CARRIED_CHARS, ErrorFileParser, parse_error_file

HEADER = b"Code, Description, Index\r\n"


@pytest.mark.parametrize("chunk", [3, 65536])
def test_an_escaped_quote_inside_a_description_that_runs_over_two_lines_is_kept(chunk: int) -> None:
    # Given a description with `\"` escapes and a line break inside the quotes
    body = HEADER + b'3005, "He said \\"no\\"\r\nthen left", 7\r\n7031, "ok", 8\r\n'
    # When it is parsed
    summary = parse_error_file(body, chunk_size=chunk)
    # Then the escapes are read as quotes and the record is one row of three fields
    assert summary.problem is None and summary.errors_by_code == {"3005": 1, "7031": 1}
    first = summary.first_rows[0]
    assert (first.code, first.description.replace("\n", " "), first.index) == ("3005", 'He said "no" then left', "7")


def test_text_after_the_closing_quote_of_a_multi_line_description_is_read_leniently() -> None:
    # Given a multi-line quoted description followed by unquoted text before the comma (not strict CSV)
    body = HEADER + b'3005, "line one\r\nline two" and more, 7\r\n'
    # When it is parsed, Then the row still counts, with the text kept in the description
    summary = parse_error_file(body)
    assert summary.problem is None and summary.error_count == 1
    assert summary.first_rows[0].description.replace("\n", " ") == "line one line two and more"
    assert summary.first_rows[0].index == "7"


def test_a_multi_line_record_of_four_fields_stops_the_count_naming_the_lines_and_the_shape() -> None:
    body = HEADER + b'3005, "opens, 1\r\nx", 2, 9\r\n7031, "y", 3\r\n'
    summary = parse_error_file(body)
    assert summary.error_count is None and summary.errors_by_code == {}
    assert summary.problem == (
        "inconsistent quoting: the quoted field opened on line 2 closes on line 3 in a record of 4 fields, "
        "expected Code, Description, Index"
    )


def test_a_multi_line_field_past_the_csv_field_limit_stops_the_count_with_the_reason() -> None:
    # Given a quoted description of 140,000 characters over two lines (csv reads at most 131,072 in a field)
    body = HEADER + b'3005, "' + b"x" * 100_000 + b"\r\n" + b"y" * 40_000 + b'", 1\r\n7031, "z", 2\r\n'
    # When it is parsed, Then the count is unknown and the reason names the lines and csv's complaint
    summary = parse_error_file(body)
    assert summary.error_count is None
    assert summary.problem == "inconsistent quoting on lines 2-3: field larger than field limit (131072)"


def test_nothing_is_carried_once_a_multi_line_record_has_closed() -> None:
    parser = ErrorFileParser()
    parser.feed(HEADER + b'3005, "a\r\nb", 7\r\n')
    assert parser.carried_chars == 0
    assert parser.finish().errors_by_code == {"3005": 1}


# -- the caps: exactly at MAX_CARRIED_CHARS is still read, one character more is not ----------------------

OPENING = b'3005, "' + b"a" * 100  # a quoted description opens here and runs over the next line


def _record_carrying(chars: int) -> bytes:
    """A record whose open quote carries `chars` characters (each line counted with its line break)."""
    return HEADER + OPENING + b"\r\n" + b"b" * (chars - len(OPENING) - 2) + b"\r\n" + b'", 1\r\n'


@pytest.mark.parametrize("chunk", [65536, 1 << 22])
def test_a_quoted_field_carried_over_exactly_the_cap_is_counted(chunk: int) -> None:
    summary = parse_error_file(_record_carrying(MAX_CARRIED_CHARS), chunk_size=chunk)
    assert summary.problem is None and summary.errors_by_code == {"3005": 1}
    assert summary.first_rows[0].index == "1"


@pytest.mark.parametrize("chunk", [65536, 1 << 22])
def test_a_quoted_field_carried_one_character_past_the_cap_stops_the_count(chunk: int) -> None:
    summary = parse_error_file(_record_carrying(MAX_CARRIED_CHARS + 1), chunk_size=chunk)
    assert summary.error_count is None
    assert (
        summary.problem
        == "inconsistent quoting: a quoted field opened on line 2 is still open after 131,072 characters"
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


# -- the careful reading (a block with a multi-line record) keeps every quoting rule -----------------------

MULTI_LINE = b'7031, "two\r\nlines", 9\r\n'


def test_a_block_read_line_by_line_still_reads_escaped_and_doubled_quotes_and_stray_text() -> None:
    # Given rows with `\"`, `""` and text after the closing quote, in the same block as a multi-line record
    body = HEADER + b'3005, "5\\" screen", 1\r\n3005, "She said ""yes""", 2\r\n3005, "a" b, 3\r\n' + MULTI_LINE
    # When it is parsed in one piece
    summary = parse_error_file(body)
    # Then each row is read as in the common case
    assert summary.problem is None and summary.errors_by_code == {"3005": 3, "7031": 1}
    assert [r.description for r in summary.first_rows[:3]] == ['5" screen', 'She said "yes"', "a b"]


def test_a_description_with_doubled_quotes_that_runs_over_two_lines_is_one_row() -> None:
    body = HEADER + b'3005, "He said ""no""\r\nthen left", 7\r\n'
    summary = parse_error_file(body)
    assert summary.problem is None and summary.error_count == 1
    assert summary.first_rows[0].description.replace("\n", " ") == 'He said "no" then left'


def test_rows_kept_from_earlier_feeds_stay_when_a_later_feed_is_read_line_by_line() -> None:
    parser = ErrorFileParser()
    parser.feed(HEADER + b'1, "a", 1\r\n2, "b", 2\r\n3, "c", 3\r\n')
    parser.feed(MULTI_LINE + b'4, "d", 4\r\n')
    summary = parser.finish()
    assert [r.code for r in summary.first_rows] == ["1", "2", "3", "7031", "4"]


def test_a_multi_byte_character_cut_off_at_the_very_end_is_replaced_not_dropped() -> None:
    summary = parse_error_file(HEADER + b'3005, "x", 1\xe2\x82')
    assert summary.problem is None and summary.first_rows[0].index == "1\ufffd"


def test_nothing_is_carried_before_a_feed_or_after_the_end() -> None:
    parser = ErrorFileParser()
    assert parser.carried_chars == 0
    parser.feed(HEADER + b'3005, "x", 1')
    parser.finish()
    assert parser.carried_chars == 0
