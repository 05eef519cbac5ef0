"""The handler end to end with SFTP files: moto server + simulator + a real SFTP server (asyncssh) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from local.sftp_server import SftpServer
from local.simulator import Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.entry.producer import register
from tests.conftest import API_KEY, Ticks

ERRORS = b"Code, Description, Index\r\n" + b'3005, "Invalid Profile ID", 1\r\n7031, "Name mismatch", 2\r\n' * 500
RESULT = b"email,tier\r\n" + b"someone@example.com,gold\r\n" * 20_000


def put_secret(stack: LocalStack, sftp: dict[str, Any]) -> None:
    value = json.dumps({"api_key": API_KEY, "sftp": sftp})
    stack.client("secretsmanager").put_secret_value(SecretId=stack.secret_id, SecretString=value)


def messages(stack: LocalStack) -> dict[str, dict[str, Any]]:
    assert stack.queue_url is not None
    found = [json.loads(m["Message"]) for m in drain(stack, stack.queue_url)]
    return {m["request_id"]: m for m in found}


def s3_body(stack: LocalStack, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    return bytes(stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.mark.env(SFTP_TIMEOUT_SECONDS="1")
def test_bare_and_sftp_url_values_are_copied_byte_for_byte_with_error_counts(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, sftp_server: SftpServer
) -> None:
    # Given a secret with an sftp section, and answers naming a bare path and an sftp:// URL
    put_secret(stack, sftp_server.section())
    sftp_server.put("upd-errors.csv", ERRORS)
    sftp_server.put("get-result.csv", RESULT)
    sftp_server.put("empty.csv", b"")
    sim.script("upd", Step.done_update(1000, "upd-errors.csv"))
    sim.script("get", Step.done_get(sftp_server.url("/outbox/get-result.csv")))
    sim.script("nil", Step.done_get("/outbox/empty.csv"))
    for rid in ("upd", "get", "nil"):
        register(stack.client("dynamodb"), stack.table, rid)
    # When the handler runs once
    [summary] = handler_ticks()
    # Then every file is archived byte for byte with its checksum, the error file counted, over one connection
    found = messages(stack)
    assert summary["completed"] == 3 and summary["files_not_archived"] == 0
    upd = found["upd"]
    assert upd["error_count"] == 1000 and upd["errors_by_code"] == {"3005": 500, "7031": 500}
    for rid, data in (("upd", ERRORS), ("get", RESULT), ("nil", b"")):
        [entry] = found[rid]["files"]
        assert entry["archived"] is True and entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert s3_body(stack, entry["s3_uri"]) == data and entry["bytes"] == len(data)
    assert sftp_server.connections == 1


@pytest.mark.env(SFTP_TIMEOUT_SECONDS="1")
def test_a_connection_dropped_mid_file_leaves_no_object_and_the_next_sweep_copies_it(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, sftp_server: SftpServer
) -> None:
    put_secret(stack, sftp_server.section())
    sftp_server.put("r.csv", RESULT)
    sftp_server.fault("r.csv", "drop")
    sim.script("get", Step.done_get("r.csv"))
    register(stack.client("dynamodb"), stack.table, "get")
    [first] = handler_ticks()
    assert first["transient_errors"] == 1 and messages(stack) == {}
    assert stack.client("s3").list_objects_v2(Bucket=stack.bucket).get("KeyCount") == 0
    handler_ticks()
    [entry] = messages(stack)["get"]["files"]
    assert s3_body(stack, entry["s3_uri"]) == RESULT


@pytest.mark.env(SFTP_TIMEOUT_SECONDS="1")
def test_paths_out_of_base_dir_and_denied_files_are_not_archived_but_the_requests_complete(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, sftp_server: SftpServer
) -> None:
    put_secret(stack, sftp_server.section())
    sftp_server.put("secret.csv", b"private", folder="/private")
    sftp_server.symlink("link.csv", "/private/secret.csv")
    sftp_server.put("locked.csv", RESULT)
    sftp_server.fault("locked.csv", "deny")
    values = {
        "dotdot": "../private/secret.csv",
        "absolute": "/private/secret.csv",
        "symlink": "link.csv",
        "denied": "locked.csv",
    }
    for rid, value in values.items():
        sim.script(rid, Step.done_update(3, value))
        register(stack.client("dynamodb"), stack.table, rid)
    [summary] = handler_ticks()
    found = messages(stack)
    assert summary["files_not_archived"] == 4 and summary["completed"] == 4
    for rid in values:
        assert found[rid]["status"] == "COMPLETED" and found[rid]["error_count"] is None
        assert found[rid]["files"][0]["archived"] is False
    assert "permission denied" in found["denied"]["files"][0]["reason"]
    assert "secret.csv" not in sftp_server.opens
    assert stack.client("s3").list_objects_v2(Bucket=stack.bucket).get("KeyCount") == 0


@pytest.mark.env(SFTP_TIMEOUT_SECONDS="1")
def test_a_refused_login_is_systemic_after_one_re_read_and_a_rotated_key_needs_no_deploy(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, sftp_server: SftpServer
) -> None:
    # Given a secret whose SFTP password is wrong
    put_secret(stack, sftp_server.section("password", password="rotated-away"))
    sftp_server.put("r.csv", RESULT)
    sim.script("get", Step.done_get("r.csv"))
    register(stack.client("dynamodb"), stack.table, "get")
    # When a sweep meets the file, Then the sweep stops as systemic and the request is kept, not charged
    [first] = handler_ticks()
    assert first["systemic"] == 1 and "refused the login" in str(first["stopped"]) and messages(stack) == {}
    # When the operator puts the new password into the secret, Then the next sweep copies the file
    put_secret(stack, sftp_server.section("password"))
    handler_ticks()
    assert messages(stack)["get"]["files"][0]["archived"] is True
