"""The archive agrees with the outcome: a file reported not archived has no object left at its key."""

from __future__ import annotations

from profile_poller.core.model import archive_key
from tests.fakes import FakeFile, json_response
from tests.unit.sweep_world import World, world

__all__ = ["world"]


def test_a_leftover_copy_of_a_file_that_ends_not_archived_is_removed(world: World) -> None:
    # Given an earlier sweep that copied the file and died before deciding left an object at the file's key
    world.register("r1")
    submitted_at = int(world.store.items["r1"]["submitted_at"])
    key = archive_key("p", "r1", submitted_at, "file", "/big.csv")
    world.archive.objects[key] = b"x" * 40
    # and the file has since grown past the cap, so this time it is not archived
    world.api.answers["r1"] = [json_response(200, '{"file": "/big.csv"}')]
    world.api.files["/big.csv"] = [FakeFile(b"x" * 100)]
    # When a sweep settles the request
    world.sweep(max_file_bytes=50)
    # Then the outcome says the file is not archived, and no object at its key says otherwise
    [entry] = world.published("r1")[0].files
    assert not entry.archived and "MAX_FILE_BYTES" in (entry.reason or "")
    assert world.archive.objects == {}


def test_an_archived_file_is_kept(world: World) -> None:
    # Given a finished request whose file copies fine
    world.register("r1")
    world.api.answers["r1"] = [json_response(200, '{"file": "/f.csv"}')]
    world.api.files["/f.csv"] = [FakeFile(b"a,b\r\n")]
    # When a sweep settles it, Then its object stays
    world.sweep()
    assert list(world.archive.objects.values()) == [b"a,b\r\n"]
