"""Composition root: builds the adapters once per container and runs one sweep per invocation."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from ..adapters.campaign_api import CampaignApi, build_session
from ..adapters.dynamodb import DynamoRequestStore
from ..adapters.s3 import S3Archive
from ..adapters.secrets import SecretKeySource
from ..adapters.sftp import SftpFiles
from ..adapters.sns import SnsNotifier
from ..core.outcomes import SweepSummary
from ..core.settings import Settings
from ..core.sweep import Sweep, SweepDeps
from .aws import AwsPolicy


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
        deps = SweepDeps(
            store=DynamoRequestStore(aws.client(session, "dynamodb", pool), settings.table_name),
            api=CampaignApi(
                build_session(settings.concurrency),
                settings.file_hosts,
                settings.allow_plain_http,
                settings.http_timeout_seconds,
            ),
            keys=SecretKeySource(
                SecretsProvider(boto3_client=aws.client(session, "secretsmanager", pool)),
                settings.secret_id,
                settings.api_base_url,
                settings.allow_plain_http,
            ),
            archive=S3Archive(aws.client(session, "s3", pool), settings.bucket_name),
            notifier=SnsNotifier(aws.client(session, "sns", pool), settings.topic_arn),
            clock=clock,
            sleep=sleep,
            rng=random.Random(),  # noqa: S311 - backoff jitter, not security
            sftp=SftpFiles(settings.sftp_timeout_seconds, settings.sftp_transfers, settings.max_file_bytes),
        )
        return cls(settings, deps)

    def sweep(self, owner: str, remaining_ms: Callable[[], int]) -> SweepSummary:
        return Sweep(self.settings, self.deps, owner, remaining_ms).run()
