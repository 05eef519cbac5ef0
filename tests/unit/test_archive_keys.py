"""Archive keys: deterministic, dated by the submission time, and the archived file keeps only a plain extension."""

from __future__ import annotations

import pytest

from profile_poller.core.model import archive_key


def test_archive_keys_are_deterministic_and_dated_by_submission() -> None:
    submitted = 1_798_761_600  # 2027-01-01T00:00:00Z
    assert archive_key("p", "r1", submitted, "error-file", "/x/anything.txt") == "p/2027/01/01/r1/error-file.csv"
    assert archive_key("p", "r1", submitted, "file", "https://h/a/b/Profiles.JSON?sig=1") == "p/2027/01/01/r1/file.json"
    assert archive_key("p", "r1", submitted, "file", "/a/b/noext") == "p/2027/01/01/r1/file"
    assert archive_key("p", "r1", submitted, "file", "/a/b/weird.<script>") == "p/2027/01/01/r1/file"


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("e.csv", "file.csv"),
        ("/out/a.csv", "file.csv"),
        ("/out/report.2027.CSV", "file.csv"),
        ("/out/.hidden", "file"),
        ("/out/x.json", "file.json"),
        ("/v1.2/report", "file"),
        ("https://h/a.b/c", "file"),
        ("http://[::1/out/.hidden", "file"),  # not a URL (unclosed bracket): the same name rules
        ("http://[::1/out/x.json", "file.json"),
    ],
)
def test_the_archived_file_keeps_only_a_plain_extension(source: str, name: str) -> None:
    assert archive_key("p", "r1", 1_798_761_600, "file", source) == f"p/2027/01/01/r1/{name}"
