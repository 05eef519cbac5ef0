"""A bad line in the secret's `sftp` section refuses SFTP files only (review item 5): the API key stays usable, HTTPS
files are still copied, and each SFTP file is not archived with a reason naming the line number, never the key."""

from __future__ import annotations

import base64
import json
import random
import struct

import pytest

from profile_poller.adapters.secrets import parse_secret
from profile_poller.core.ports import Credentials, CredentialsError
from profile_poller.core.sources import FileSource
from profile_poller.core.sweep import Sweep, SweepDeps
from tests.fakes import FakeFile, json_response
from tests.unit.sweep_world import World, world

__all__ = ["world"]


def blob(kind: str) -> str:
    name = kind.encode()
    return base64.b64encode(struct.pack(">I", len(name)) + name + b"\0" * 40).decode()


GOOD = f"files.example ssh-ed25519 {blob('ssh-ed25519')}"
BAD_LINES = {
    "only a key type the client cannot check": [f"files.example ssh-dss {blob('ssh-dss')}"],
    "a key of another type than stated": [f"files.example ssh-ed25519 {blob('ssh-rsa')}"],
    "a malformed second line": [GOOD, "files.example ssh-ed25519"],
}


def secret(host_keys: list[str], **extra: object) -> str:
    sftp = {"host": "files.example", "username": "u", "password": "pw", "host_keys": host_keys}
    return json.dumps({"api_key": "key-1", "base_url": "https://tenant.example", "sftp": sftp, **extra})


@pytest.mark.parametrize("lines", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_the_api_key_stays_usable_and_the_sftp_section_is_refused_naming_the_line(lines: list[str]) -> None:
    credentials = parse_secret(secret(lines), "", False)
    assert credentials.api_key == "key-1" and credentials.base_url == "https://tenant.example"
    assert credentials.sftp is None
    assert credentials.sftp_refused is not None and "sftp.host_keys" in credentials.sftp_refused
    assert f"line {len(lines)}" in credentials.sftp_refused or "no key of a type" in credentials.sftp_refused
    for line in lines:  # never a key
        assert line.split()[-1] not in credentials.sftp_refused


def test_a_good_sftp_section_is_not_refused() -> None:
    credentials = parse_secret(secret([GOOD]), "", False)
    assert credentials.sftp is not None and credentials.sftp_refused is None


def test_a_secret_whose_api_key_is_bad_is_still_refused_whole() -> None:
    with pytest.raises(CredentialsError, match="api_key"):
        parse_secret(json.dumps({"api_key": "", "sftp": {"host": "files.example"}}), "", False)


class ParsedKeys:
    """A key source answering the secret as the adapter parses it."""

    def __init__(self, value: str) -> None:
        self.credentials = parse_secret(value, "", False)

    def current(self) -> Credentials:
        return self.credentials

    def refresh(self, rejected: Credentials) -> Credentials:
        return self.credentials


def sweep_with(world: World, value: str) -> dict[str, object]:
    deps = SweepDeps(
        world.store,
        world.api,
        ParsedKeys(value),
        world.archive,
        world.notifier,
        world.clock,
        world.clock.sleep,
        random.Random(7),
    )
    return Sweep(world.settings, deps, "owner-1", lambda: 600_000).run().as_dict()


def test_https_files_are_still_copied_and_each_sftp_file_is_refused_with_the_line(world: World) -> None:
    # Given a secret whose sftp section has only an ssh-dss line, a request with an HTTPS file, one with an
    # sftp:// file and one with a bare path (FILE_SOURCE=auto: an SFTP path when the secret has an sftp section)
    world.register("https-one", "sftp-url", "bare-path")
    world.api.answers["https-one"] = [json_response(200, '{"file": "https://tenant.example/out/a.csv"}')]
    world.api.answers["sftp-url"] = [json_response(200, '{"file": "sftp://files.example/out/b.csv"}')]
    world.api.answers["bare-path"] = [json_response(200, '{"file": "/out/c.csv"}')]
    world.api.files["https://tenant.example/out/a.csv"] = [FakeFile(b"a,b\n")]
    assert world.settings.file_source is FileSource.AUTO
    # When a sweep runs
    summary = sweep_with(world, secret(BAD_LINES["only a key type the client cannot check"]))
    # Then it did not stop: every request was asked and ended COMPLETED
    assert summary["stopped"] is None and summary["systemic"] == 0
    assert {world.status(rid) for rid in ("https-one", "sftp-url", "bare-path")} == {"COMPLETED"}
    # And the HTTPS file was archived
    [https_one] = world.published("https-one")
    assert [f.archived for f in https_one.files] == [True]
    # And each SFTP file was not archived, its reason naming the line; the bare path was never fetched over HTTPS
    for rid in ("sftp-url", "bare-path"):
        [outcome] = world.published(rid)
        [file] = outcome.files
        assert not file.archived and "sftp.host_keys" in (file.reason or "") and "line 1" in (file.reason or "")
    assert [path for path, _ in world.api.downloads] == ["https://tenant.example/out/a.csv"]
