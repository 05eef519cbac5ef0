"""SFTP connection and session (paramiko): connect, check the pinned host key, log in, open an SFTP channel.

paramiko is imported inside the functions, at the first SFTP file (about 0.1 s and cryptography's bindings), never
at module import. Every step is bounded by the timeout: the TCP connect, the banner, the key exchange, the login,
opening the session channel, the start of the `sftp` subsystem and the SFTP version exchange. paramiko bounds
all but one itself; `Channel.invoke_subsystem` waits for the server's answer with no timeout, so open_sftp closes
the channel when the timeout passes, which ends that wait.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import hmac
import io
import socket
import threading
from base64 import b64decode
from typing import TYPE_CHECKING

from ..core.ports import SftpSettings, SourceLoginRefused, TransportError

if TYPE_CHECKING:
    import paramiko


def describe(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return type(exc).__name__


# The signature algorithms that check a pinned key of each type (an `ssh-rsa` key signs with SHA-2 today)
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}


def connect(host: str, port: int, settings: SftpSettings, timeout: float) -> paramiko.Transport:
    """A transport to a host whose key is pinned, logged in; every step bounded by `timeout`. Raises only
    TransportError (retry) and SourceLoginRefused (a key that is not pinned, a login refused); never leaks a socket."""
    import paramiko  # noqa: PLC0415 - lazy: see module note

    pinned = pinned_keys(settings.host_keys, host, port)
    if not pinned:
        raise SourceLoginRefused(f"no pinned host key for {host}:{port} in the secret's sftp.host_keys")
    algorithms = tuple(dict.fromkeys(a for kind, _ in pinned for a in _ALGORITHMS.get(kind, (kind,))))
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise TransportError(f"SFTP connect to {host}:{port} failed: {describe(exc)}") from None
    transport: paramiko.Transport | None = None
    try:
        transport = paramiko.Transport(sock)
        transport.banner_timeout = transport.handshake_timeout = transport.auth_timeout = timeout
        transport.get_security_options().key_types = algorithms
        _handshake(transport, pinned, host, port, timeout)
        _authenticate(transport, settings, host)
    except BaseException as exc:
        if transport is not None:
            transport.close()
        sock.close()
        if isinstance(exc, SourceLoginRefused | TransportError) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, paramiko.AuthenticationException) and "timeout" in str(exc).lower():
            # paramiko's "Authentication timeout.": the server never answered the login, it did not refuse it
            raise TransportError(f"SFTP login to {host}:{port} timed out (no answer to the login)") from None
        if isinstance(exc, paramiko.AuthenticationException):
            raise SourceLoginRefused(f"SFTP login to {host}:{port} refused") from None
        raise TransportError(f"SFTP handshake with {host}:{port} failed: {describe(exc)}") from None
    return transport


def _handshake(
    transport: paramiko.Transport, pinned: set[tuple[str, bytes]], host: str, port: int, timeout: float
) -> None:
    """Key exchange, then the server's key must be one of the pinned ones. A server with no key of a pinned type
    is refused like a changed key (the secret pins another server, or the server's keys were replaced)."""
    import paramiko  # noqa: PLC0415 - lazy: see module note

    try:
        transport.start_client(timeout=timeout)
    except paramiko.SSHException as exc:
        # paramiko's IncompatiblePeer "(no acceptable host key)"; a kex or cipher mismatch stays a handshake failure
        if "host key" in str(exc).lower():
            raise SourceLoginRefused(
                f"the host {host}:{port} offers no host key of the pinned types ({_types(pinned)})"
            ) from None
        raise
    offered = transport.get_remote_server_key()
    if offered.asbytes() not in {blob for _, blob in pinned}:
        raise SourceLoginRefused(f"the host key of {host}:{port} does not match the pinned key")


def _types(pinned: set[tuple[str, bytes]]) -> str:
    return ", ".join(sorted({kind for kind, _ in pinned}))


def _authenticate(transport: paramiko.Transport, settings: SftpSettings, host: str) -> None:
    if settings.private_key is not None:
        transport.auth_publickey(settings.username, _load_key(settings.private_key))
    else:
        transport.auth_password(settings.username, settings.password or "", fallback=False)
    if not transport.is_authenticated():
        raise SourceLoginRefused(f"SFTP login to {host} refused")


def open_sftp(transport: paramiko.Transport, timeout: float) -> paramiko.SFTPClient:
    """An SFTP client on a new channel of the transport. Raises TimeoutError when the session channel, the
    subsystem or the version exchange does not answer within `timeout` (each step), OSError or SSHException else."""
    import paramiko  # noqa: PLC0415 - lazy: see module note

    channel = transport.open_session(timeout=timeout)
    channel.settimeout(timeout)  # bounds every later read on the channel, the version exchange included
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(Exception):  # the transport may be gone already; the channel is closed either way
            channel.close()  # wakes invoke_subsystem's wait (it raises SSHException "Channel closed.")

    watchdog = threading.Timer(timeout, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        channel.invoke_subsystem("sftp")
    except (EOFError, paramiko.SSHException):
        if expired.is_set():
            raise TimeoutError("the sftp subsystem did not start") from None
        raise
    finally:
        watchdog.cancel()
    if expired.is_set():  # answered just as the watchdog closed the channel
        raise TimeoutError("the sftp subsystem did not start")
    try:
        return paramiko.SFTPClient(channel)
    except BaseException:
        channel.close()
        raise


def _load_key(text: str) -> paramiko.PKey:
    import paramiko  # noqa: PLC0415 - lazy: see module note

    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise SourceLoginRefused("the secret's sftp.private_key could not be read (unsupported or encrypted key)")


def pinned_keys(lines: tuple[str, ...], host: str, port: int) -> set[tuple[str, bytes]]:
    """(key type, key blob) of every known_hosts line naming this host (plain, [host]:port or hashed). Lines the
    secret's parser would refuse are ignored here (settings built by hand)."""
    wanted = host if port == 22 else f"[{host}]:{port}"
    keys = set()
    for line in lines:
        fields = line.split()
        if len(fields) < 3 or not any(_host_matches(name, wanted) for name in fields[0].split(",")):
            continue
        try:
            keys.add((fields[1], b64decode(fields[2], validate=True)))
        except (binascii.Error, ValueError):
            continue
    return keys


def _host_matches(name: str, wanted: str) -> bool:
    if name.startswith("|1|"):  # hashed: |1|base64(salt)|base64(HMAC-SHA1(salt, host))
        try:
            _, _, salt, digest = name.split("|")
            mac = hmac.new(b64decode(salt, validate=True), wanted.encode(), hashlib.sha1).digest()
            return hmac.compare_digest(mac, b64decode(digest, validate=True))
        except (binascii.Error, ValueError):
            return False
    return name.lower() == wanted.lower()
