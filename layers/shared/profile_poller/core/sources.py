"""Where a file value points: the one pure function choosing HTTPS or SFTP per value (docs/architecture.md,
"Where files come from"), and the SFTP path rules. No I/O.

| value                              | FILE_SOURCE | secret has `sftp` | source                                  |
|------------------------------------|-------------|-------------------|-----------------------------------------|
| `https://…` (any other scheme)     | any         | any               | HTTPS, today's rules (scheme/host checks) |
| `sftp://host[:port]/path`          | any         | yes               | SFTP; host = the sftp host or FILE_HOSTS  |
| `sftp://…`                         | any         | no                | not archived: no SFTP credentials         |
| bare path                          | auto        | yes               | SFTP under base_dir                       |
| bare path                          | auto        | no                | HTTPS relative to the API base URL        |
| bare path                          | https       | any               | HTTPS relative to the API base URL        |
| bare path                          | sftp        | yes               | SFTP under base_dir                       |
| bare path                          | sftp        | no                | not archived: no SFTP credentials         |

A secret whose `sftp` section was refused (a bad host_keys line, no usable key) counts as having one: the values
SFTP would fetch are not archived, each with the refusal's reason (the field and line number).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import SplitResult, unquote, urlsplit

from .ports import FileRefused, SftpSettings


class FileSource(StrEnum):
    AUTO = "auto"
    HTTPS = "https"
    SFTP = "sftp"


@dataclass(frozen=True)
class HttpsFile:
    value: str  # an absolute URL or an API-relative path, checked by the HTTPS adapter


@dataclass(frozen=True)
class SftpFile:
    host: str
    port: int
    path: str  # absolute, normalised, under base_dir


Route = HttpsFile | SftpFile


def choose_source(
    value: str,
    mode: FileSource,
    sftp: SftpSettings | None,
    file_hosts: frozenset[str] = frozenset(),
    sftp_refused: str | None = None,
) -> Route:
    """Where to fetch one `file` / `error-file` value from; FileRefused when it may not be fetched at all.
    `sftp_refused`: the secret has an sftp section that was refused (why): every value SFTP would fetch is refused
    with that reason, and a bare path still counts as SFTP (FILE_SOURCE=auto), never as HTTPS."""
    text = value.strip()
    scheme = _split(text).scheme.lower() if ":" in text.partition("/")[0] else ""
    if scheme == "sftp" and sftp_refused is not None:
        raise FileRefused(sftp_refused)
    if scheme == "sftp":
        return _sftp_url(text, sftp, file_hosts)
    has_sftp = sftp is not None or sftp_refused is not None
    if scheme or mode is FileSource.HTTPS or (mode is FileSource.AUTO and not has_sftp):
        return HttpsFile(text)
    if sftp is None:
        raise FileRefused(sftp_refused or "FILE_SOURCE=sftp but the secret has no 'sftp' section")
    return SftpFile(sftp.host, sftp.port, sftp_path(text, sftp.base_dir))


def _split(text: str) -> SplitResult:
    try:
        return urlsplit(text)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket: refused like any file that may not be fetched
        raise FileRefused(f"file value is not a valid URL ({exc})") from None


def _sftp_url(text: str, sftp: SftpSettings | None, file_hosts: frozenset[str]) -> SftpFile:
    parts = _split(text)
    host = (parts.hostname or "").lower()
    if sftp is None:
        raise FileRefused(f"an sftp:// file on {host!r} but the secret has no 'sftp' section", host=host)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise FileRefused("sftp:// file value carries credentials, a query or a fragment", host=host)
    if host != sftp.host.lower() and host not in file_hosts:
        raise FileRefused(f"file host {host!r} is not the SFTP host nor in FILE_HOSTS", host=host)
    try:
        port = parts.port
    except ValueError:
        raise FileRefused("sftp:// file value has an invalid port", host=host) from None
    default_port = sftp.port if host == sftp.host.lower() else 22
    return SftpFile(host, port or default_port, sftp_path(unquote(parts.path), sftp.base_dir))


def sftp_path(path: str, base_dir: str) -> str:
    """The remote path of a value, kept under base_dir: a relative path is taken from base_dir, an absolute one
    must already lie under it; `..` segments, backslashes and control characters are refused."""
    if not path or "\\" in path or any(ord(c) < 32 for c in path):
        raise FileRefused("SFTP path is empty or holds a backslash or control character")
    if ".." in path.split("/"):
        raise FileRefused("SFTP path contains '..' segments")
    base = posixpath.normpath("/" + base_dir.strip("/"))  # "/" when base_dir is
    full = posixpath.normpath(posixpath.join(base, path))  # an absolute path replaces base here
    full = "/" + full.lstrip("/")
    if not within(full, base):
        raise FileRefused(f"SFTP path is outside base_dir {base!r}")
    return full


def within(path: str, base: str) -> bool:
    """`path` is `base` itself or below it (both absolute and normalised)."""
    return base in ("/", path) or path.startswith(base.rstrip("/") + "/")
