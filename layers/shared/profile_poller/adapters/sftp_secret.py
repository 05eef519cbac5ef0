"""The secret's optional `sftp` section, validated without importing paramiko (cold start stays light).

`{"host", "port": 22, "username", "private_key": "<OpenSSH or PEM text>" | "password", "host_keys":
["<known_hosts line>", …], "base_dir": "/optional/root"}`; host_keys takes ssh-keyscan's output as it is (plain or
hashed). A bad section is a one-line CredentialsError naming the field (and a line number); no value ever appears.
"""

from __future__ import annotations

import binascii
import posixpath
import re
from base64 import b64decode
from collections.abc import Mapping
from typing import Any

from ..core.log import logger
from ..core.ports import CredentialsError, SftpSettings

FIELDS = frozenset({"host", "port", "username", "private_key", "password", "host_keys", "base_dir"})
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})")
# Host key types paramiko can check (ssh-rsa is checked with the rsa-sha2-512/256 signatures, see sftp_session.py)
USABLE_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
_KEY_TYPE = re.compile(r"(ssh-[a-z0-9-]+|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+)(-cert-v01@openssh\.com)?")


def _bad(field: str, why: str) -> CredentialsError:
    return CredentialsError(f"the secret's sftp.{field} {why}")


def _text(data: Mapping[str, Any], field: str) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _bad(field, "must be a non-empty string")
    return value.strip()


def _port(value: object) -> int:
    if value is None:
        return 22
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise _bad("port", "must be a whole number from 1 to 65535")
    return value


def _host_keys(value: object) -> tuple[str, ...]:
    """The usable pinned keys, as `names key-type base64` lines. The whole `ssh-keyscan` output is accepted (plain
    or `-H` hashed, `#` comments); a key type paramiko cannot check (sk-*, ssh-dss, certificates) is skipped with a
    warning naming the line; a malformed line refuses the secret, naming the line number, never the key."""
    if not isinstance(value, list) or not value:
        raise _bad("host_keys", "must be a non-empty list of known_hosts lines (the pinned server keys)")
    lines, skipped = [], []
    for number, line in enumerate(value, 1):
        if isinstance(line, str) and (not line.strip() or line.lstrip().startswith("#")):
            continue  # a blank line or ssh-keyscan's "# host:port SSH-2.0-…" comment
        fields = line.split() if isinstance(line, str) else []
        if len(fields) < 3 or fields[0].startswith("@") or not _KEY_TYPE.fullmatch(fields[1]):
            raise _bad("host_keys", f"line {number} is not a known_hosts line 'host key-type base64-key'")
        if not all(_host_pattern_ok(name) for name in fields[0].split(",")):
            raise _bad("host_keys", f"line {number} has a malformed host name (a hashed '|1|salt|hash' name?)")
        if _blob_type(fields[2]) != fields[1]:
            raise _bad("host_keys", f"line {number} has a key that is not base64 of a {fields[1]} key")
        if fields[1] not in USABLE_KEY_TYPES:
            logger.warning(
                "a pinned host key of a type the SFTP client cannot check is skipped",
                extra={"field": "sftp.host_keys", "line": number, "key_type": fields[1]},
            )
            skipped.append(f"line {number} ({fields[1]})")
            continue
        lines.append(" ".join(fields[:3]))
    if not lines:
        why = f"; skipped: {', '.join(skipped)}" if skipped else ""
        raise _bad("host_keys", f"has no key of a type the SFTP client can check ({', '.join(USABLE_KEY_TYPES)}){why}")
    return tuple(lines)


def _host_pattern_ok(name: str) -> bool:
    if not name.startswith("|1|"):
        return bool(name)
    parts = name.split("|")
    if len(parts) != 4:  # "", "1", salt, hash
        return False
    try:
        salt, digest = b64decode(parts[2], validate=True), b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(salt) == len(digest) == 20  # HMAC-SHA1 with a 20-byte salt, as ssh-keygen -H writes it


def _blob_type(text: str) -> str | None:
    """The key type written inside a public key blob (its first SSH string), None when it is not one."""
    try:
        blob = b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(blob) < 4:
        return None
    size = int.from_bytes(blob[:4], "big")
    if size > len(blob) - 4:
        return None
    return blob[4 : 4 + size].decode("ascii", "replace")


def _base_dir(value: str | None) -> str:
    if value is None:
        return "/"
    if not value.startswith("/") or ".." in value.split("/") or "\\" in value or not value.isprintable():
        raise _bad("base_dir", "must be an absolute path without '..'")
    return posixpath.normpath(value) if value != "/" else "/"


def parse_sftp_section(section: object) -> SftpSettings:
    if not isinstance(section, dict):
        raise CredentialsError("the secret's sftp section must be a JSON object")
    unknown = sorted(str(k)[:40] for k in section if k not in FIELDS)
    if unknown:
        raise CredentialsError(f"the secret's sftp section has an unknown field {unknown[0]!r}")
    host = _text(section, "host")
    if host is None or not _HOST.fullmatch(host):
        raise _bad("host", "must be a host name or IPv4 address without scheme, user or port")
    username = _text(section, "username")
    if username is None or any(c.isspace() for c in username) or not username.isprintable():
        raise _bad("username", "must be a non-empty string without spaces")
    private_key = _text(section, "private_key")
    password = _text(section, "password")
    if (private_key is None) == (password is None):
        raise CredentialsError("the secret's sftp section needs exactly one of 'private_key' and 'password'")
    if private_key is not None and "PRIVATE KEY-----" not in private_key:
        raise _bad("private_key", "must be an OpenSSH or PEM private key (-----BEGIN ... PRIVATE KEY-----)")
    return SftpSettings(
        host=host.lower(),
        port=_port(section.get("port")),
        username=username,
        private_key=private_key,
        password=password,
        host_keys=_host_keys(section.get("host_keys")),
        base_dir=_base_dir(_text(section, "base_dir")),
    )
