"""What the SFTP adapter checks before it reads a file, and how a failed request reads to the operator (adapters/
sftp.py on the in-memory endpoint of fake_sftp.py): the server's real path must lie under base_dir's real path;
only a regular file is read; a file over the cap is refused from its announced size; each failed request becomes
the port's error for it (missing, permission, refused, transient), naming the host and the step, never a path."""

from __future__ import annotations

import errno
import stat
from collections.abc import Iterator
from dataclasses import replace

import pytest

from profile_poller.adapters.sftp import SftpFiles
from profile_poller.core.ports import FileMissing, FilePermission, FileRefused, TransportError
from tests.unit.fake_sftp import HOST, SETTINGS, Attrs, FakeSftp

OUT = replace(SETTINGS, base_dir="/out")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeSftp:
    return FakeSftp().install(monkeypatch)


@pytest.fixture
def files() -> Iterator[SftpFiles]:
    adapter = SftpFiles(timeout_seconds=1.0, max_bytes=100)
    yield adapter
    adapter.end_sweep()


def refusal(files: SftpFiles, path: str, settings: object = OUT) -> FileRefused:
    with pytest.raises(FileRefused) as caught, files.open_file(HOST, 22, path, settings):  # type: ignore[arg-type]
        pass
    return caught.value


def test_a_link_out_of_base_dir_is_refused_naming_base_dir_and_never_opened(files: SftpFiles, server: FakeSftp) -> None:
    server.put("/private/secret.csv", b"no")
    server.links["/out/innocent"] = "/private"
    refused = refusal(files, "/out/innocent/secret.csv")
    assert (str(refused), refused.host) == ("SFTP path resolves outside base_dir '/out' (a symlink?)", HOST)
    assert server.opened == []


def test_a_file_beside_base_dir_in_its_parent_is_refused(files: SftpFiles, server: FakeSftp) -> None:
    server.put("/out/a.csv", b"no")
    refused = refusal(files, "/out/a.csv", replace(SETTINGS, base_dir="/out/X"))
    assert str(refused) == "SFTP path resolves outside base_dir '/out/X' (a symlink?)" and server.opened == []


def test_a_base_dir_that_is_a_link_is_resolved_once_per_connection(files: SftpFiles, server: FakeSftp) -> None:
    # Given base_dir /exports/ (trailing slash), a link on the server to /out where the files are
    server.put("/out/a.csv", b"a")
    server.put("/out/b.csv", b"b")
    server.links["/exports"] = "/out"
    exports = replace(SETTINGS, base_dir="/exports/")
    # When two files are read under it, Then both are read, and base_dir was asked for once
    for name in ("a", "b"):
        with files.open_file(HOST, 22, f"/exports/{name}.csv", exports) as remote:
            assert remote.read(-1) == name.encode()
    assert server.normalized == ["/exports/a.csv", "/exports", "/exports/b.csv"]


def test_with_base_dir_the_root_only_the_files_path_is_resolved(files: SftpFiles, server: FakeSftp) -> None:
    server.put("/anywhere/a.csv", b"a")
    with files.open_file(HOST, 22, "/anywhere/./a.csv", SETTINGS) as remote:
        assert remote.read(-1) == b"a"
    assert server.normalized == ["/anywhere/./a.csv"] and server.opened == ["/anywhere/a.csv"]


def test_only_a_regular_file_is_read(files: SftpFiles, server: FakeSftp) -> None:
    server.put("/out/folder", b"")
    server.attrs["/out/folder"] = Attrs(4096, stat.S_IFDIR | 0o755)
    refused = refusal(files, "/out/folder")
    assert (str(refused), refused.host, server.opened) == ("SFTP path is not a regular file", HOST, [])


def test_a_file_whose_stat_has_no_type_is_read(files: SftpFiles, server: FakeSftp) -> None:
    server.attrs[server.put("/out/a.csv", b"abc")] = Attrs(3, None)
    with files.open_file(HOST, 22, "/out/a.csv", OUT) as remote:
        assert remote.content_length == 3 and remote.read(-1) == b"abc"


def test_a_file_at_the_cap_is_read_and_one_byte_over_is_refused_unopened(files: SftpFiles, server: FakeSftp) -> None:
    server.put("/out/at.csv", b"x" * 100)
    server.put("/out/over.csv", b"x" * 101)
    with files.open_file(HOST, 22, "/out/at.csv", OUT) as remote:
        assert remote.content_length == 100
    refused = refusal(files, "/out/over.csv")
    assert (str(refused), refused.host) == ("file is 101 bytes, over the 100-byte cap (MAX_FILE_BYTES)", HOST)
    assert server.opened == ["/out/at.csv"]


def test_without_a_cap_any_announced_size_is_read(server: FakeSftp) -> None:
    server.attrs[server.put("/out/big.csv", b"abc")] = Attrs(3)
    uncapped = SftpFiles(timeout_seconds=1.0)
    try:
        with uncapped.open_file(HOST, 22, "/out/big.csv", OUT) as remote:
            assert remote.content_length == 3 and remote.url == f"sftp://{HOST}"
    finally:
        uncapped.end_sweep()


MISSING = f"file not found on SFTP host {HOST}"


@pytest.mark.parametrize(
    ("request_", "error", "kind", "message"),
    [
        ("stat", FileNotFoundError(errno.ENOENT, "No such file"), FileMissing, MISSING),
        ("open", OSError(errno.ENOENT, "No such file"), FileMissing, MISSING),
        (
            "stat",
            PermissionError(errno.EACCES, "Permission denied"),
            FilePermission,
            f"permission denied on SFTP host {HOST}",
        ),
        ("open", OSError("Failure"), FileRefused, f"SFTP host {HOST} refused open"),  # SFTP's generic status 4
        ("stat", OSError("Failure"), FileRefused, f"SFTP host {HOST} refused stat"),
        ("normalize", OSError("Failure"), FileRefused, f"SFTP host {HOST} refused resolving the path"),
        ("stat", TimeoutError("timed out"), TransportError, f"SFTP stat on {HOST} failed: timed out"),
        ("open", TimeoutError(), TransportError, f"SFTP open on {HOST} failed: timed out"),
        (
            "stat",
            OSError(errno.ECONNRESET, "reset"),
            TransportError,
            f"SFTP stat on {HOST} failed: ConnectionResetError",
        ),
        ("normalize", EOFError(), TransportError, f"SFTP resolving the path on {HOST} failed: EOFError"),
    ],
)
def test_a_failed_request_is_the_ports_error_naming_the_host_and_the_step(
    files: SftpFiles, server: FakeSftp, request_: str, error: BaseException, kind: type[Exception], message: str
) -> None:
    server.put("/out/a.csv", b"abc")
    server.errors[(request_, "/out/a.csv")] = error
    with pytest.raises(Exception) as caught, files.open_file(HOST, 22, "/out/a.csv", OUT):
        pass
    assert type(caught.value) is kind and str(caught.value) == message
    assert getattr(caught.value, "host", HOST) == HOST


def test_a_base_dir_the_server_refuses_to_resolve_names_that_step(files: SftpFiles, server: FakeSftp) -> None:
    server.put("/out/a.csv", b"abc")
    server.errors[("normalize", "/out")] = OSError("Failure")
    assert str(refusal(files, "/out/a.csv")) == f"SFTP host {HOST} refused resolving base_dir"
