"""The file source a subscriber sees in the message and the archive key, for values that are neither a plain path
nor a full https URL: a scheme-relative URL keeps its host, a file URL keeps its empty host, and a value that is not a
URL at all keeps its path, without query, fragment or credentials."""

from __future__ import annotations

import json

import pytest

from profile_poller.core.message import build_message, public_source
from profile_poller.core.model import Kind, Outcome, Status, StoredFile, archive_key


@pytest.mark.parametrize(
    ("source", "public"),
    [
        ("//files.example/out/a.csv?sig=secret", "//files.example/out/a.csv"),
        ("file:///exports/a.csv?x=1#frag", "file:///exports/a.csv"),
        ("/campaignapi/files/e.csv?token=1", "/campaignapi/files/e.csv"),
    ],
    ids=["scheme-relative", "file-url", "path"],
)
def test_the_message_names_the_source_without_its_query_whatever_its_shape(source: str, public: str) -> None:
    # Given a completed outcome whose file came from `source`
    stored = StoredFile("file", source, "s3://archive/k", 3, "ab" * 32)
    outcome = Outcome("r1", Status.COMPLETED, Kind.GET, 1_800_000_000, 1_800_000_100, 1, files=(stored,))
    # When its message is built, Then the subscriber sees the source without query or fragment, host kept
    [entry] = json.loads(build_message(outcome).body)["files"]
    assert entry["source"] == public


@pytest.mark.parametrize(
    ("source", "public"),
    [
        ("https://[x/a b.csv#one#two", "https://[x/a b.csv"),
        ("https://[x/a.csv?one?two", "https://[x/a.csv"),
        ("sftp://u:pw@[::1/out/e.csv#f", "sftp://[::1/out/e.csv"),
    ],
    ids=["fragments", "queries", "credentials"],
)
def test_a_source_that_is_not_a_url_is_cut_at_its_first_query_or_fragment(source: str, public: str) -> None:
    assert public_source(source) == public


def test_the_archive_key_of_a_source_that_is_not_a_url_takes_the_extension_before_the_first_query() -> None:
    assert archive_key("p", "r1", 1_800_000_000, "file", "https://[x/a.csv?b.txt?c") == "p/2027/01/15/r1/file.csv"
