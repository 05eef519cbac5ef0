"""The sweep's SFTP source (entry/runtime.py LazySftp): the adapter, and paramiko with it, is built when the first
SFTP file is met, once for the container, with the function's SFTP settings; every file is opened through that one
adapter; a sweep that met no SFTP file builds nothing when it ends."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest

from profile_poller.adapters import sftp
from profile_poller.core.ports import SftpSettings
from profile_poller.entry.runtime import LazySftp

SETTINGS = SftpSettings("files.example", "tenant", ("files.example ssh-ed25519 AAAA",), private_key="key")


class Adapter:
    built: list[Adapter] = []

    def __init__(self, *args: Any) -> None:
        Adapter.built.append(self)
        self.args = args
        self.opened: list[tuple[Any, ...]] = []
        self.sweeps_ended = 0

    def open_file(self, host: str, port: int, path: str, settings: SftpSettings) -> Any:
        self.opened.append((host, port, path, settings))
        return nullcontext(f"{host}:{port}{path}")

    def end_sweep(self) -> None:
        self.sweeps_ended += 1


@pytest.fixture
def adapter(monkeypatch: pytest.MonkeyPatch) -> type[Adapter]:
    Adapter.built = []
    monkeypatch.setattr(sftp, "SftpFiles", Adapter)
    return Adapter


def test_a_sweep_without_sftp_files_builds_no_adapter(adapter: type[Adapter]) -> None:
    LazySftp(30.0, 4, 1024).end_sweep()
    assert adapter.built == []


def test_the_first_file_builds_the_adapter_once_and_every_file_goes_through_it(adapter: type[Adapter]) -> None:
    source = LazySftp(30.0, 4, 1024)
    # When two files are opened
    with source.open_file("files.example", 2222, "/out/a.csv", SETTINGS) as first:
        assert str(first) == "files.example:2222/out/a.csv"
    with source.open_file("files.example", 22, "/out/b.csv", SETTINGS) as second:
        assert str(second) == "files.example:22/out/b.csv"
    source.end_sweep()
    # Then one adapter was built, with the function's timeout, transfers and size limit, and it got both files
    [built] = adapter.built
    assert built.args == (30.0, 4, 1024)
    assert built.opened == [
        ("files.example", 2222, "/out/a.csv", SETTINGS),
        ("files.example", 22, "/out/b.csv", SETTINGS),
    ]
    assert built.sweeps_ended == 1
