"""The ports the sweep depends on, and the domain errors adapters raise through them.

Adapters (store, campaign_api, archive, notify, secrets) implement these; unit tests use in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from .classify import ApiResponse
from .model import Outcome
from .schedule import AskingLease, Due


class LeaseLost(Exception):
    """The conditional write failed: another invocation owns the item now, or it is no longer pending."""


class StoreError(Exception):
    """The table could not be read or written (throttled, unavailable, denied)."""


class ItemRejected(Exception):
    """The table refused a write for this one item (DynamoDB ValidationException: the item would pass 400 KB, a
    value it cannot hold). The request's problem, never the table's: not a StoreError, so the sweep carries on."""


class TransportError(Exception):
    """No usable answer: timeout, reset, truncated body, 5xx on a file. Transient for the request."""


class ArchiveFailed(TransportError):
    """The archive refused a file's upload or its checksum stamp (a StoreError from the archive): transient for
    that file, retried with backoff within MAX_TRANSIENT_ERRORS, then the file is not archived."""


class FileRefused(Exception):
    """A file that will never be archived (host off the list, scheme, size, a path escaping its root, no
    permission). The request is still answered: the file's entry is marked not archived, with this reason.
    `host` is the host the value named (for the warning log), when there was one."""

    def __init__(self, reason: str, host: str | None = None) -> None:
        super().__init__(reason)
        self.host = host


class CopyOutOfTime(TransportError):
    """A copy could not finish before its deadline (the Lambda time left minus TIME_MARGIN_SECONDS): cut, its
    upload aborted, and retried by a later sweep like any transient failure."""


class TooSlowToCopy(FileRefused):
    """A file too large to copy within one invocation at the assumed minimum throughput: never archived."""


class FilePermission(FileRefused):
    """The files host refused us the file (HTTPS 401/403 off the API's origin, SFTP permission denied)."""


class FileMissing(TransportError):
    """The file is not there (HTTPS 404/410, SFTP no such file). It may appear late: retried for a bounded
    number of tries (FILE_NOT_FOUND_TRIES), then not archived."""


class SourceLoginRefused(Exception):
    """The file source refused our credentials or its host key did not match the pinned one. The secret is
    re-read once (a rotated key), then the failure is systemic: copying stops for the sweep, nothing is lost."""


class CredentialsError(Exception):
    """The secret is missing, unreadable or malformed. Systemic: no request is to blame."""


class PublishError(Exception):
    """The outcome could not be published; the item stays pending and is retried."""


class CallbackRefused(Exception):
    """Step Functions will never take this callback (TaskTimedOut, TaskDoesNotExist, InvalidToken, ...). Carries
    the error code only: never the token, never the service's message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CallbackUnavailable(Exception):
    """The callback may pass later (throttled, 5xx, no answer, access denied): the request stays pending."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class SftpSettings:
    """The secret's `sftp` section, validated. repr() never shows the key or the password."""

    host: str
    username: str
    host_keys: tuple[str, ...]  # known_hosts lines: the pinned keys (no trust on first use)
    port: int = 22
    private_key: str | None = None  # OpenSSH or PEM text
    password: str | None = None
    base_dir: str = "/"

    def __repr__(self) -> str:
        auth = "private_key" if self.private_key else "password"
        return (
            f"SftpSettings(host={self.host!r}, port={self.port}, username=***, auth={auth}, base_dir={self.base_dir!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class Credentials:
    """The API key, the tenant base URL, the optional SFTP settings and the optional extra CA certificates (PEM)
    trusted for HTTPS beside the public ones. repr() never shows a secret."""

    api_key: str
    base_url: str
    sftp: SftpSettings | None = None
    ca_bundle: str | None = None  # the secret's `ca_bundle`: PEM certificates of a private CA
    # why the secret's `sftp` section was refused (a field, a line number, never a value): SFTP files are refused
    # one by one with this reason while the API key and HTTPS files stay usable; None when it was accepted or absent
    sftp_refused: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(api_key='***', base_url={self.base_url!r}, sftp={self.sftp!r})"

    __str__ = __repr__


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class RemoteFile(Readable, Protocol):
    """An open download: read(n) returns up to n bytes, b'' at the end."""

    @property
    def content_length(self) -> int | None: ...

    @property
    def url(self) -> str: ...


class RequestStore(Protocol):
    """The requests table. Every write but the claim is conditional on owning the lease (LeaseLost otherwise).

    A lease ends at `lease_until`, which is always the item's `next_check_at`: the claim holds a request until
    its next check, so a sweep that dies, or an answer of "still processing", needs no write to give it back.
    """

    def due_ids(self, shard: str, now: int) -> Iterator[Due]:
        """The due entries of one shard, page by page, oldest next_check_at first."""
        ...

    def claim(self, due: Due, owner: str, now: int, next_check_at: Decimal, attempts: int) -> Mapping[str, Any] | None:
        """The one write of a pending check: take the lease until `next_check_at`, schedule the next check there
        and count the attempt, if the item is PENDING, still at the `next_check_at` the sweep read (so an item
        rescheduled during this sweep is not asked twice) and unleased at `now`; None when another invocation
        won. Returns the item as written."""
        ...

    def reschedule(
        self,
        request_id: str,
        owner: str,
        next_check_at: Decimal,
        transient_errors: int,
        last_error: str | None,
    ) -> None:
        """Set the next check and the transient error count, and drop the lease."""
        ...

    def release(self, request_id: str, owner: str, next_check_at: Decimal, attempts: int) -> None:
        """Undo a claim that asked nothing: due again at `next_check_at`, the attempt not counted, no lease."""
        ...

    def extend(self, request_id: str, owner: str, next_check_at: Decimal) -> None:
        """Hold the lease (and put the next check) until `next_check_at`: before work longer than a check."""
        ...

    def decide(self, outcome: Outcome, owner: str, next_check_at: Decimal) -> None:
        """Record the terminal outcome before it is published, so a retry publishes the same one; the lease
        is held until `next_check_at`."""
        ...

    def finish(self, outcome: Outcome, owner: str, expires_at: int) -> None:
        """Terminal transition: status, outcome map, TTL; removes due_shard and the lease."""
        ...

    def finish_called_back(self, outcome: Outcome, owner: str, expires_at: int, callback: Mapping[str, str]) -> None:
        """finish() for a request registered with a task token (issue 19): also removes the token and keeps
        `callback` (whether its callback was delivered or refused, never the token) as `task_callback`."""
        ...

    def take_asking(self, owner: str, now: int, until: int) -> AskingLease:
        """Take the tenant's asking lease (one sweep asks the API at a time) if it is free, expired at `now` or
        already `owner`'s; returns the lease as it stands: held by `owner` when taken, by another sweep if not."""
        ...

    def keep_asking(self, lease: AskingLease) -> None:
        """Extend the asking lease to `lease.until` and store the rate state; LeaseLost if another sweep holds it."""
        ...

    def end_asking(self, lease: AskingLease) -> None:
        """Give the asking lease up, keeping the rate state for the next sweep; LeaseLost if it was not ours."""
        ...


class StatusApi(Protocol):
    def query(self, request_id: str, credentials: Credentials) -> ApiResponse: ...

    def open_file(self, path: str, credentials: Credentials) -> AbstractContextManager[RemoteFile]: ...


class SftpSource(Protocol):
    """SFTP downloads: one connection per sweep, reused by every SFTP file, closed by end_sweep()."""

    def open_file(self, host: str, port: int, path: str, settings: SftpSettings) -> AbstractContextManager[RemoteFile]:
        """Raises TransportError (retry), FileMissing, FileRefused / FilePermission (not archived) or
        SourceLoginRefused (host key or login refused)."""
        ...

    def end_sweep(self) -> None: ...


class KeySource(Protocol):
    def current(self) -> Credentials: ...

    def refresh(self, rejected: Credentials) -> Credentials:
        """Re-read the secret, bypassing the cache (core/asking.py's Asker.rotate keeps it to one a sweep)."""
        ...


class Archive(Protocol):
    def put(self, key: str, body: Readable, metadata: Mapping[str, str]) -> str:
        """Stream body into the archive under key; return the object's URI. Leaves nothing on failure."""
        ...

    def stamp(self, key: str, metadata: Mapping[str, str]) -> None:
        """Replace the object's metadata once the checksum is known."""
        ...

    def discard(self, key: str) -> None:
        """Remove whatever object is at key (none is fine): a leftover of an earlier, interrupted copy of a file
        that now ends not archived. Raises StoreError when the archive refuses."""
        ...


class TaskCallbacks(Protocol):
    """Step Functions' callback calls for one task token. Raise CallbackRefused or CallbackUnavailable."""

    def succeed(self, token: str, output: str) -> None: ...

    def fail(self, token: str, error: str, cause: str) -> None: ...

    def heartbeat(self, token: str) -> None: ...


class Notifier(Protocol):
    def publish(self, outcomes: Sequence[Outcome]) -> set[str]:
        """Publish one message per outcome; return the event_ids that failed."""
        ...
