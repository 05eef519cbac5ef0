"""Asking the Campaign API about one request, with the one key re-read a sweep allows on 498."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .classify import KeyRejected, Systemic, Transient, Verdict, classify
from .log import logger
from .ports import Credentials, CredentialsError, KeySource, StatusApi, TransportError


class Asker:
    """Shared by a sweep's worker threads; threads that hit 498 together share one re-read of the secret."""

    def __init__(self, api: StatusApi, keys: KeySource, clock: Callable[[], float]) -> None:
        self._api = api
        self._keys = keys
        self._clock = clock
        self._lock = threading.Lock()
        self._refreshed = False

    def ask(self, request_id: str, pace: Callable[[], None]) -> tuple[Verdict, Credentials]:
        """The verdict on one status call (CredentialsError when no key can be read at all). `pace` waits for
        the rate limiter's grant; it is taken after the key is read, right before each call (the retry after a
        498 too), so a slow key read (Secrets Manager on a cold cache) cannot hold a granted call back until it
        bunches with the calls granted after it."""
        credentials = self._keys.current()
        for _ in range(2):
            pace()
            try:
                response = self._api.query(request_id, credentials)
            except TransportError as exc:
                return Transient(str(exc)), credentials
            except Exception as exc:  # a client surprise counts like a transient failure (liveness): type only,
                # its text may quote what was sent
                reason = f"unexpected error from the status call ({type(exc).__name__})"
                return Transient(reason, unexpected=True), credentials
            verdict = classify(response, self._clock())
            if not isinstance(verdict, KeyRejected):
                return verdict, credentials
            fresh = self.rotate(credentials)
            if fresh is None:
                return Systemic("498", verdict.reason), credentials
            credentials = fresh
        return Systemic("498", "the re-read key was rejected too"), credentials

    def rotate(self, rejected: Credentials) -> Credentials | None:
        """One re-read of the secret per sweep (a 498, or a file source refusing the login); None when the
        secret holds nothing newer."""
        with self._lock:
            try:
                current = self._keys.current()
                if current != rejected:
                    return current
                if self._refreshed:
                    return None
                self._refreshed = True
                fresh = self._keys.refresh(rejected)
            except CredentialsError:
                return None
        logger.info("API key rejected; re-read the secret", extra={"key_changed": fresh != rejected})
        return fresh if fresh != rejected else None
