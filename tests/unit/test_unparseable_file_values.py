"""A `file` / `error-file` value that looks like a URL but cannot be parsed (an unclosed IPv6 bracket makes
urllib raise ValueError) is refused like any file that may not be fetched: the request completes with the file
not archived and the reason, and its message is built without the value's credentials. Before, the ValueError
escaped the copier, the sweep counted an unexpected error and the request was asked again at every sweep."""

from __future__ import annotations

import json

from profile_poller.core.message import build_message, public_source
from profile_poller.core.model import archive_key
from tests.fakes import json_response
from tests.unit.sweep_world import World, world

__all__ = ["world"]
ANSWER = '{"file": "https://[x/a.csv", "error-file": "sftp://u:pw@[::1/e.csv?sig=s", "update-count": 2}'


def test_a_file_value_that_is_not_a_url_completes_the_request_with_the_files_not_archived(world: World) -> None:
    # Given a finished answer whose two file values cannot be parsed as URLs
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, ANSWER)]
    # When a sweep runs
    summary = world.sweep()
    # Then the request is COMPLETED with its update count, both files not archived and why, nothing fetched
    assert (summary["completed"], summary["files_not_archived"], summary["errors"]) == (1, 2, 0)
    assert world.status("r1") == "COMPLETED" and world.api.downloads == []
    outcome = world.store.items["r1"]["outcome"]
    assert outcome["update_count"] == 2 and outcome["error_count"] is None
    reasons = {role: f["reason"] for role, f in outcome["files"].items()}
    assert reasons == {
        "error-file": "file value is not a valid URL (Invalid IPv6 URL)",
        "file": "file value is not a valid URL (Invalid IPv6 URL)",
    }
    # and its message is published once, naming the sources without user, password or query
    [published] = world.published("r1")
    body = json.loads(build_message(published).body)
    assert sorted(f["source"] for f in body["files"]) == ["https://[x/a.csv", "sftp://[::1/e.csv"]
    assert "pw" not in build_message(published).body and "sig" not in build_message(published).body


def test_public_source_and_archive_key_take_a_value_that_is_not_a_url() -> None:
    assert public_source("https://user:secret@[x/out/a.csv?token=t#f") == "https://[x/out/a.csv"
    assert public_source("[x/out/a.csv?token=t") == "[x/out/a.csv"
    key = archive_key("p", "r1", 1_800_000_000, "file", "https://[x/out/a.CSV?token=t")
    assert key == "p/2027/01/15/r1/file.csv"
