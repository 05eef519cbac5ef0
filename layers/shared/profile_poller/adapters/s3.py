"""S3 adapter: stream a download into the archive bucket, then stamp its checksum into the metadata."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from ..core.ports import Readable, StoreError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def transfer_config() -> TransferConfig:
    """8 MiB parts, two uploading and two buffered: about 32 MiB per copy whatever the file size.

    s3transfer buffers up to `max_in_memory_upload_chunks` parts of a non-seekable stream (default 10, i.e.
    80 MiB); boto3's TransferConfig does not take it as an argument, so it is set on the instance.
    """
    config = TransferConfig(
        multipart_threshold=8 * 1024**2, multipart_chunksize=8 * 1024**2, max_concurrency=2, use_threads=True
    )
    config.max_in_memory_upload_chunks = 2
    return config


def _ascii(metadata: Mapping[str, str]) -> dict[str, str]:
    """S3 user metadata must be ASCII: percent-encode anything else (source paths can be anything)."""
    return {k: quote(v, safe="/:=+,;@._-~ ")[:1024] for k, v in metadata.items()}


class S3Archive:
    def __init__(self, client: S3Client, bucket: str, transfer: TransferConfig | None = None) -> None:
        self._client = client
        self._bucket = bucket
        self._transfer = transfer or transfer_config()

    def put(self, key: str, body: Readable, metadata: Mapping[str, str]) -> str:
        """upload_fileobj reads the stream part by part; an exception from body.read() aborts the upload
        (a multipart upload is aborted, a single put never starts), so a failed copy leaves no object."""
        extra = {"Metadata": _ascii(metadata)}  # encryption: the bucket's default (SSE-S3 or SSE-KMS)
        try:
            self._client.upload_fileobj(body, self._bucket, key, ExtraArgs=extra, Config=self._transfer)  # type: ignore[arg-type]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"archiving s3://{self._bucket}/{key} failed: {exc}") from exc
        return f"s3://{self._bucket}/{key}"

    def stamp(self, key: str, metadata: Mapping[str, str]) -> None:
        """Rewrite the metadata in place (CopyObject onto itself) once SHA-256 and size are known.

        When the rewrite fails the object is deleted, so no object without its checksum is left behind (the
        request is retried and uploads it again). Only if the delete fails too can one remain, unstamped, until
        the retry overwrites it."""
        try:
            self._client.copy_object(
                Bucket=self._bucket,
                Key=key,
                CopySource={"Bucket": self._bucket, "Key": key},
                Metadata=_ascii(metadata),
                MetadataDirective="REPLACE",
            )
        except (ClientError, BotoCoreError) as exc:
            removed = self._discard(key)
            raise StoreError(
                f"stamping s3://{self._bucket}/{key} failed: {exc}"
                + ("; the unstamped object was deleted" if removed else "; deleting the unstamped object failed too")
            ) from exc

    def discard(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"deleting s3://{self._bucket}/{key} failed: {exc}") from exc

    def _discard(self, key: str) -> bool:
        try:
            self.discard(key)
        except StoreError:
            return False
        return True
