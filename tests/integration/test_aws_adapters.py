"""S3Archive, SnsNotifier and SecretKeySource against a moto server over HTTP."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import jsonschema
import pytest

from local.faultproxy import FaultProxy, Rule
from local.stack import LocalStack, drain, subscribe
from profile_poller.adapters.s3 import S3Archive
from profile_poller.adapters.secrets import SecretKeySource
from profile_poller.adapters.sns import SnsNotifier
from profile_poller.core.model import Kind, Outcome, Status
from profile_poller.core.ports import Credentials, CredentialsError, StoreError, TransportError
from profile_poller.core.streams import MeteredReader
from tests.fakes import FakeClock, FakeFile
from tests.integration.faults import client_via, proxy
from tests.unit.test_events_and_messages import SCHEMA

__all__ = ["proxy"]
MiB = 1024 * 1024


def test_discard_removes_an_object_and_tolerates_a_missing_one(stack: LocalStack) -> None:
    # Given an object left at a key by an interrupted copy
    s3 = stack.client("s3")
    s3.put_object(Bucket=stack.bucket, Key="p/r1/file.csv", Body=b"partial")
    archive = S3Archive(s3, stack.bucket)
    # When it is discarded, twice (the second finds nothing)
    archive.discard("p/r1/file.csv")
    archive.discard("p/r1/file.csv")
    # Then the key is empty
    assert s3.list_objects_v2(Bucket=stack.bucket, Prefix="p/r1/").get("KeyCount") == 0


@pytest.mark.parametrize("size", [1000, 20 * MiB])  # a single PUT, and a multipart upload
def test_archive_streams_and_stamps_sha256(stack: LocalStack, size: int) -> None:
    s3 = stack.client("s3")
    data = bytes(range(256)) * (size // 256)
    reader = MeteredReader(FakeFile(data), 10**10)
    uri = S3Archive(s3, stack.bucket).put("p/r1/file.csv", reader, {"request-id": "r1", "source": "/f/é.csv"})
    S3Archive(s3, stack.bucket).stamp("p/r1/file.csv", {"request-id": "r1", "sha256": reader.sha256})
    head = s3.head_object(Bucket=stack.bucket, Key="p/r1/file.csv")
    assert uri == f"s3://{stack.bucket}/p/r1/file.csv"
    assert head["ContentLength"] == len(data)
    assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_an_archived_files_source_reads_as_it_was_and_only_what_s3_cannot_carry_is_percent_encoded(
    stack: LocalStack,
) -> None:
    # Given a source with the punctuation of URLs and file names, and a name with letters outside ASCII
    readable = "sftp://files.example:22/out/a b;c=d+e,f@g~h_i.j-k.csv"
    s3 = stack.client("s3")
    archive = S3Archive(s3, stack.bucket)
    # When the file is archived, then its object says where it came from before it is stamped (an object whose
    # stamp and delete both failed stays unstamped: its metadata is all an operator has to go on)
    metadata = {"request-id": "r1", "source": readable, "name": "é ü.csv", "path": "/d" * 700}
    archive.put("p/r1/file.csv", io.BytesIO(b"row"), metadata)
    unstamped = s3.head_object(Bucket=stack.bucket, Key="p/r1/file.csv")["Metadata"]
    # And once stamped, as well: the source reads as it was, the name percent-encoded (S3 metadata is ASCII), a
    # value over 1,024 characters clipped to 1,024 (S3 takes 2 KB of user metadata in all)
    archive.stamp("p/r1/file.csv", {**metadata, "sha256": "0" * 64})
    stamped = s3.head_object(Bucket=stack.bucket, Key="p/r1/file.csv")["Metadata"]
    assert unstamped == {"request-id": "r1", "source": readable, "name": "%C3%A9 %C3%BC.csv", "path": "/d" * 512}
    assert stamped == {**unstamped, "sha256": "0" * 64}


@pytest.mark.parametrize("size", [1000, 20 * MiB])
def test_a_download_that_breaks_leaves_no_object(stack: LocalStack, size: int) -> None:
    s3 = stack.client("s3")
    reader = MeteredReader(FakeFile(b"x" * size, fail_after=size - 10), 10**10)
    with pytest.raises(TransportError):
        S3Archive(s3, stack.bucket).put("p/r1/error-file.csv", reader, {})
    assert s3.list_objects_v2(Bucket=stack.bucket).get("KeyCount") == 0
    assert s3.list_multipart_uploads(Bucket=stack.bucket).get("Uploads", []) == []


def outcome(rid: str, status: Status, kind: Kind = Kind.UPDATE, errors: int | None = 0) -> Outcome:
    return Outcome(rid, status, kind, 1_800_000_000, 1_800_000_100, 2, update_count=5, error_count=errors)


def test_outcomes_reach_subscribers_with_attributes_and_filter_policies(stack: LocalStack) -> None:
    failures = subscribe(stack, "failures-only", {"status": ["FAILED", "EXPIRED"]})
    outcomes = [outcome(f"ok-{i}", Status.COMPLETED) for i in range(12)] + [outcome("bad", Status.FAILED, errors=None)]
    assert SnsNotifier(stack.client("sns"), stack.topic_arn).publish(outcomes) == set()
    assert stack.queue_url is not None
    everything = drain(stack, stack.queue_url)
    assert len(everything) == 13
    for envelope in everything:
        body: dict[str, Any] = json.loads(envelope["Message"])
        jsonschema.validate(body, SCHEMA)
        assert envelope["MessageAttributes"]["status"]["Value"] == body["status"]
        assert envelope["Subject"].startswith("Profile request")
    [only] = drain(stack, failures)
    assert json.loads(only["Message"])["event_id"] == "bad:FAILED"


def test_entries_refused_one_by_one_are_returned_and_the_rest_delivered(stack: LocalStack, proxy: FaultProxy) -> None:
    # Given SNS refusing some entries of a batch (a per-entry failure: PublishBatch itself succeeds and lists them
    # under "Failed"). Outcomes are bounded, so none of ours is over SNS's limits: the refusal comes over the wire.
    proxy.set_rules([Rule("sns", "partial", times=1)])
    batch = [outcome(f"ok-{i}", Status.COMPLETED) for i in range(6)]
    # When they are published, Then exactly the refused ones are reported failed (so their requests stay pending)
    failed = SnsNotifier(client_via(proxy, "sns"), stack.topic_arn).publish(batch)
    assert stack.queue_url is not None
    delivered = {json.loads(e["Message"])["event_id"] for e in drain(stack, stack.queue_url)}
    assert failed and delivered and failed | delivered == {o.event_id for o in batch} and not failed & delivered


def put_secret(stack: LocalStack, value: str) -> None:
    stack.client("secretsmanager").put_secret_value(SecretId=stack.secret_id, SecretString=value)


def test_secret_is_cached_and_force_fetched_after_rotation(stack: LocalStack) -> None:
    keys = SecretKeySource(
        stack.client("secretsmanager"),
        stack.secret_id,
        base_url_override="https://t.example",
    )
    first = keys.current()
    put_secret(stack, json.dumps({"api_key": "rotated"}))
    assert keys.current() == first  # cached for 300 s
    assert keys.refresh(first).api_key == "rotated"


def test_the_cached_secret_is_read_again_after_300_seconds(stack: LocalStack) -> None:
    # Given a key source on a clock the test moves, and a first read of the secret
    clock = FakeClock()
    keys = SecretKeySource(
        stack.client("secretsmanager"), stack.secret_id, base_url_override="https://t.example", clock=clock
    )
    first = keys.current()
    # When the secret is rotated, Then the cached key serves for 300 s, and the new one is read after that
    put_secret(stack, json.dumps({"api_key": "rotated"}))
    clock.advance(299)
    assert keys.current() == first
    clock.advance(1)
    assert keys.current().api_key == "rotated"


def test_a_secret_created_empty_says_it_has_no_value_yet(stack: LocalStack) -> None:
    # Given a secret created as the stack creates it: no SecretString, no GenerateSecretString
    sm = stack.client("secretsmanager")
    empty = sm.create_secret(Name="profile-poller/empty", KmsKeyId="alias/aws/secretsmanager")["ARN"]
    keys = SecretKeySource(sm, empty, base_url_override="https://t.example")
    # When the poller reads it, Then a credentials error (systemic, alarmed) says why, naming no value
    with pytest.raises(CredentialsError, match="no value yet"):
        keys.current()
    # And once the key is put in by hand, the same source reads it
    sm.put_secret_value(SecretId=empty, SecretString=json.dumps({"api_key": "k-123"}))
    assert keys.refresh(Credentials(api_key="", base_url="https://t.example")).api_key == "k-123"


def test_unreadable_secret_is_a_credentials_error_without_the_value(stack: LocalStack) -> None:
    put_secret(stack, "two words")
    keys = SecretKeySource(
        stack.client("secretsmanager"),
        stack.secret_id,
        base_url_override="https://t.example",
    )
    with pytest.raises(CredentialsError) as caught:
        keys.current()
    assert "two words" not in str(caught.value)
    missing = SecretKeySource(stack.client("secretsmanager"), "no-such-secret")
    with pytest.raises(CredentialsError, match="SECRET_ID"):
        missing.current()


def test_s3_failures_become_domain_errors(stack: LocalStack, proxy: FaultProxy) -> None:
    # put, stamp and discard against a bucket that does not exist: each a StoreError naming S3's error
    missing = S3Archive(stack.client("s3"), "no-such-bucket")
    with pytest.raises(StoreError, match=r"archiving s3://no-such-bucket/k failed: .*NoSuchBucket"):
        missing.put("k", MeteredReader(FakeFile(b"row\r\n"), 100), {})
    with pytest.raises(StoreError, match=r"stamping .*NoSuchBucket.*; deleting the unstamped object failed too$"):
        missing.stamp("k", {})
    with pytest.raises(StoreError, match=r"deleting s3://no-such-bucket/k failed: .*NoSuchBucket"):
        missing.discard("k")
    # a stamp refused on an object that exists: the unstamped object is deleted, and the error says so
    stack.client("s3").put_object(Bucket=stack.bucket, Key="p/r1/file.csv", Body=b"unstamped")
    proxy.set_rules([Rule("s3", "error", operations=frozenset({"CopyObject"}))])
    with pytest.raises(StoreError, match=r"InternalError.*; the unstamped object was deleted$"):
        S3Archive(client_via(proxy, "s3", attempts=1), stack.bucket).stamp("p/r1/file.csv", {"sha256": "0" * 64})
    assert stack.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="p/r1/").get("KeyCount") == 0
