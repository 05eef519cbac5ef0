"""Composition root: builds the adapters once per container and runs one sweep per invocation."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

from ..adapters.campaign_api import CampaignApi, build_session
from ..adapters.dynamodb import DynamoRequestStore
from ..adapters.outcome_events import EventBridgeNotifier
from ..adapters.s3 import S3Archive
from ..adapters.secrets import SecretKeySource
from ..adapters.sns import SnsNotifier
from ..adapters.stepfunctions import StepFunctionsCallbacks
from ..core.doors import AllDoors
from ..core.outcomes import SweepSummary
from ..core.ports import Notifier, RemoteFile, SftpSettings
from ..core.settings import Settings
from ..core.sweep import Sweep, SweepDeps
from .aws import AwsPolicy

if TYPE_CHECKING:
    from ..adapters.sftp import SftpFiles


class LazySftp:
    """The SFTP source, its adapter (and paramiko) imported when the first SFTP file is met: a sweep of pending
    checks, or a tenant whose files come over HTTPS, never pays for them."""

    def __init__(self, timeout_seconds: float, transfers: int, max_bytes: int) -> None:
        self._args = (timeout_seconds, transfers, max_bytes)
        self._files: SftpFiles | None = None
        self._lock = threading.Lock()  # copies run on several threads: one adapter, one connection

    def open_file(self, host: str, port: int, path: str, settings: SftpSettings) -> AbstractContextManager[RemoteFile]:
        with self._lock:
            if self._files is None:
                from ..adapters.sftp import SftpFiles  # noqa: PLC0415 - lazy on purpose (cold import)

                self._files = SftpFiles(*self._args)
            files = self._files
        return files.open_file(host, port, path, settings)

    def end_sweep(self) -> None:
        if self._files is not None:
            self._files.end_sweep()


@dataclass
class Runtime:
    settings: Settings
    deps: SweepDeps

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        aws: AwsPolicy | None = None,
    ) -> Runtime:
        # clients are thread-safe and pooled to the concurrency; retry mode, attempts and timeouts per service
        # are chosen in entry/aws.py (docs/reliability.md); AWS_ENDPOINT_URL is honoured by botocore
        pool = settings.concurrency + 4
        aws = aws or AwsPolicy()
        session = boto3.session.Session()
        doors: list[Notifier] = [SnsNotifier(aws.client(session, "sns", pool), settings.topic_arn)]
        if settings.outcome_bus_name:  # issue 19: every outcome also goes to the outcome bus
            doors.append(EventBridgeNotifier(aws.client(session, "events", pool), settings.outcome_bus_name))
        deps = SweepDeps(
            # the hot client (a claim per check): the store builds every parameter itself (typed values through
            # the TypeSerializer), so botocore's re-validation of each call is skipped (docs/performance.md)
            store=DynamoRequestStore(aws.client(session, "dynamodb", pool, validate=False), settings.table_name),
            api=CampaignApi(
                build_session(settings.concurrency),
                settings.file_hosts,
                settings.allow_plain_http,
                settings.http_timeout_seconds,
            ),
            keys=SecretKeySource(
                aws.client(session, "secretsmanager", pool),
                settings.secret_id,
                settings.api_base_url,
                settings.allow_plain_http,
            ),
            archive=S3Archive(aws.client(session, "s3", pool), settings.bucket_name),
            notifier=doors[0] if len(doors) == 1 else AllDoors(doors),
            tasks=StepFunctionsCallbacks(  # issue 19; heartbeats on a one-try client (entry/aws.py)
                aws.client(session, "stepfunctions", pool),
                heartbeats=aws.client(session, "stepfunctions", pool, policy_of="heartbeats"),
            ),
            clock=clock,
            sleep=sleep,
            rng=random.Random(),  # noqa: S311 - backoff jitter, not security
            sftp=LazySftp(settings.sftp_timeout_seconds, settings.sftp_transfers, settings.max_file_bytes),
        )
        return cls(settings, deps)

    def sweep(self, owner: str, remaining_ms: Callable[[], int]) -> SweepSummary:
        return Sweep(self.settings, self.deps, owner, remaining_ms).run()
