"""The file source a subscriber sees in the message, for the URL shapes that are neither a plain path nor a
full https URL: a scheme-relative URL keeps its host, a file URL keeps its empty host."""

from __future__ import annotations

import json

import pytest

from profile_poller.core.message import build_message
from profile_poller.core.model import Kind, Outcome, Status, StoredFile


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
