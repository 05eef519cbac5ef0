"""The botocore retry mode, attempts and timeouts of every AWS client, chosen per service (docs/reliability.md).

All clients use botocore's `standard` retry mode: it retries throttling codes (ThrottlingException,
ProvisionedThroughputExceededException, Throttling, SlowDown, ...), 500/502/503/504 and connection errors (reset,
read timeout) with full-jitter exponential backoff, under a per-client retry quota that stops retrying when most
calls fail. Not `legacy` (DynamoDB would get 10 attempts and 25 ms backoff), not `adaptive` (a client-side rate
limiter shared by the sweep's threads, and still marked experimental by botocore).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

MAX_BACKOFF_SECONDS = 20.0  # botocore standard mode: min(2**(attempt-1) * random(), 20)


@dataclass(frozen=True)
class ClientPolicy:
    """`total_max_attempts` counts the first try (botocore's `max_attempts` would count only the retries)."""

    total_max_attempts: int
    connect_timeout: float
    read_timeout: float

    def config(self, pool: int, validate: bool) -> Config:
        return Config(
            retries={"mode": "standard", "total_max_attempts": self.total_max_attempts},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=pool,
            parameter_validation=validate,
        )

    def worst_call_seconds(self) -> float:
        """The longest one call can take before it raises: every attempt timing out, every backoff at its cap."""
        backoffs = sum(min(2.0**i, MAX_BACKOFF_SECONDS) for i in range(self.total_max_attempts - 1))
        return self.total_max_attempts * (self.connect_timeout + self.read_timeout) + backoffs


@dataclass(frozen=True)
class AwsPolicy:
    # the table: throttles are its common fault and every attempt is cheap; a write that has not answered in
    # 5 s is retried rather than waited for (DynamoDB answers in milliseconds)
    dynamodb: ClientPolicy = field(default_factory=lambda: ClientPolicy(4, 2.0, 5.0))
    # the archive: SlowDown asks for backoff and a lost 8 MiB part is worth retrying; the read timeout covers
    # S3's wait before it answers an UploadPart or CompleteMultipartUpload
    s3: ClientPolicy = field(default_factory=lambda: ClientPolicy(5, 2.0, 30.0))
    # outcomes: a failed PublishBatch leaves the requests pending for the next sweep, so no long wait here
    sns: ClientPolicy = field(default_factory=lambda: ClientPolicy(4, 2.0, 5.0))
    # the key: read once per container (cached); three tries, then the sweep stops as a systemic failure
    secretsmanager: ClientPolicy = field(default_factory=lambda: ClientPolicy(3, 2.0, 5.0))
    # registration: the rejected-records queue; a failure leaves the record on its queue, retried by SQS
    sqs: ClientPolicy = field(default_factory=lambda: ClientPolicy(4, 2.0, 5.0))
    # issue 19: outcome events and task callbacks; a failure leaves the request pending for the next sweep
    events: ClientPolicy = field(default_factory=lambda: ClientPolicy(4, 2.0, 5.0))
    stepfunctions: ClientPolicy = field(default_factory=lambda: ClientPolicy(4, 2.0, 5.0))
    # heartbeats are best effort and sent while a check holds its slot: one try, short timeouts (3 s at worst);
    # a lost one is made up by the next check's, within the workflow's HeartbeatSeconds (docs/producers.md)
    heartbeats: ClientPolicy = field(default_factory=lambda: ClientPolicy(1, 1.0, 2.0))
    # the operator CLI's --stack lookup
    cloudformation: ClientPolicy = field(default_factory=lambda: ClientPolicy(3, 2.0, 10.0))
    endpoint_url: str | None = None  # local runs only (the fault proxy); AWS_ENDPOINT_URL is honoured anyway

    def client(
        self, session: boto3.session.Session, service: str, pool: int, *, validate: bool = True, policy_of: str = ""
    ) -> Any:
        """`validate=False` skips botocore's client-side parameter validation (about 70 us a DynamoDB call): only
        for an adapter that builds every parameter itself from typed values (the sweep's store). `policy_of` names
        another policy than the service's own (`heartbeats` for Step Functions heartbeats)."""
        policy: ClientPolicy = getattr(self, policy_of or service)
        config = policy.config(pool, validate)
        return session.client(service, config=config, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]
