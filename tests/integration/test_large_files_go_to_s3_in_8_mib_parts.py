"""A file is archived in 8 MiB parts once it reaches 8 MiB, and in one PUT below that: what keeps a copy's memory
near 32 MiB whatever the file's size (adapters/s3.py transfer_config). moto tells the parts apart as S3 does: a
multipart object's ETag ends in `-<parts>`, and GetObject with PartNumber returns one part."""

from __future__ import annotations

from typing import Any

import pytest

from local.stack import LocalStack
from profile_poller.adapters.s3 import S3Archive
from profile_poller.core.streams import MeteredReader
from tests.fakes import FakeFile

MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("size", "parts"), [(8 * MiB - 1, 1), (8 * MiB + 1024, 2), (17 * MiB, 3)], ids=["under-8", "just-over", "17"]
)
def test_a_file_goes_up_in_8_mib_parts_from_8_mib_and_in_one_put_below(
    stack: LocalStack, size: int, parts: int
) -> None:
    # Given a download of `size` bytes, read as a stream
    s3 = stack.client("s3")
    reader = MeteredReader(FakeFile(b"p" * size), 10**10)
    # When it is archived
    S3Archive(s3, stack.bucket).put("p/r1/file.csv", reader, {"request-id": "r1"})
    # Then a file under 8 MiB went in one PUT, and a larger one in parts of 8 MiB but the last
    etag = s3.head_object(Bucket=stack.bucket, Key="p/r1/file.csv")["ETag"].strip('"')
    first = s3.get_object(Bucket=stack.bucket, Key="p/r1/file.csv", PartNumber=1)["ContentLength"]
    if parts == 1:
        assert "-" not in etag and first == size
    else:
        assert etag.endswith(f"-{parts}") and first == 8 * MiB


class Recording:
    """The S3 client, recording the transfer configuration each upload is made with."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.configs: list[Any] = []

    def upload_fileobj(self, *args: Any, Config: Any = None, **kwargs: Any) -> None:  # boto3 names it Config
        self.configs.append(Config)
        self._client.upload_fileobj(*args, Config=Config, **kwargs)


def test_a_copy_holds_at_most_32_mib_of_the_file_whatever_its_size(stack: LocalStack) -> None:
    # Given a download of 17 MiB, read as a stream
    s3 = Recording(stack.client("s3"))
    # When it is archived
    S3Archive(s3, stack.bucket).put("p/r1/file.csv", MeteredReader(FakeFile(b"p" * 17 * MiB), 10**10), {})  # type: ignore[arg-type]
    # Then the upload held at most 32 MiB of it: s3transfer reads a stream ahead into at most
    # `max_in_memory_upload_chunks` parts and uploads `max_concurrency` of them at once (make bench measures the
    # process: peak_rss_mb_8_copies in docs/performance.md)
    [config] = s3.configs
    assert (config.max_in_memory_upload_chunks + config.max_concurrency) * config.multipart_chunksize <= 32 * MiB
