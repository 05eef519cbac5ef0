"""The AWS side of the chaos run: the fault proxy's rules, the storms, and the clients' policy behind it.

The sweeps' clients reach moto through the proxy; the checker reads moto directly. Most rounds get a low rate
of every fault (botocore's retries absorb nearly all of them, as in AWS); some rounds get a storm on one
service, where retries run out and the code's own error handling is what keeps the invariants.
"""

from __future__ import annotations

import functools
import random
from dataclasses import replace

from local.faultproxy import Rule, ops
from profile_poller.entry.aws import AwsPolicy

SECRETS_READ_TIMEOUT = 0.5  # seconds; the proxy's timeout fault holds a call longer than this

WRITES = ops("UpdateItem", "PutItem")
UPLOADS = ops("PutObject", "UploadPart", "CompleteMultipartUpload", "CopyObject")
MULTIPART = ops("UploadPart", "CompleteMultipartUpload")

BASE: list[Rule] = [
    Rule("dynamodb", "throttle", 0.02),
    Rule("dynamodb", "capacity", 0.01),
    Rule("dynamodb", "error", 0.01),
    Rule("dynamodb", "error-after", 0.01, WRITES),  # the write happened; the answer says 500
    Rule("dynamodb", "latency", 0.02, seconds=0.05),
    Rule("s3", "throttle", 0.03),
    Rule("s3", "reset", 0.02, UPLOADS),
    # few big files: higher rates so that their parts and completions meet faults
    Rule("s3", "reset", 0.12, MULTIPART),
    Rule("s3", "throttle", 0.12, MULTIPART),
    Rule("s3", "reset-after", 0.1, ops("CompleteMultipartUpload")),
    Rule("s3", "error-in-200", 0.1, ops("CompleteMultipartUpload")),
    Rule("s3", "reset-after", 0.02, UPLOADS),
    Rule("s3", "error-in-200", 0.03, ops("CompleteMultipartUpload", "CopyObject")),
    Rule("sns", "partial", 0.08, ops("PublishBatch")),
    Rule("sns", "throttle", 0.03),
    Rule("sns", "error", 0.01),
    Rule("secretsmanager", "error", 0.2),
    Rule("secretsmanager", "timeout", 0.1, seconds=SECRETS_READ_TIMEOUT + 0.3),
]

STORMS: list[list[Rule]] = [
    [Rule("dynamodb", "throttle", 0.6)],
    [Rule("dynamodb", "error-after", 0.5, WRITES)],
    [Rule("s3", "throttle", 0.7, UPLOADS)],
    [Rule("s3", "reset", 0.6, UPLOADS)],
    [Rule("sns", "throttle", 0.8)],
    [Rule("sns", "partial", 1.0, ops("PublishBatch"))],
    [Rule("secretsmanager", "error", 0.9)],
    [Rule("secretsmanager", "timeout", 0.9, seconds=SECRETS_READ_TIMEOUT + 0.3)],
]


@functools.cache
def big_rows() -> bytes:
    """9 MiB of error-file rows: over the 8 MiB multipart threshold."""
    return b"".join(b'102, "Padding", %d\r\n' % i for i in range(430_000))


def round_rules(rng: random.Random) -> list[Rule]:
    """One round's faults: a storm one round in five, then the base rates."""
    storm = rng.choice(STORMS) if rng.random() < 0.2 else []
    return storm + BASE


def chaos_policy(endpoint: str) -> AwsPolicy:
    """Production retry modes and attempts; the Secrets read timeout shortened so a hang costs half a second."""
    policy = AwsPolicy(endpoint_url=endpoint)
    return replace(policy, secretsmanager=replace(policy.secretsmanager, read_timeout=SECRETS_READ_TIMEOUT))
