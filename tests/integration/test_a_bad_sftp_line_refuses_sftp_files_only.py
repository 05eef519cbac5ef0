"""End to end (moto server + simulator + asyncssh): a secret whose `sftp` section has a bad host-key line (review
item 5) refuses SFTP files only. Status calls go on with the API key, an HTTPS file is archived, and each SFTP file is
not archived, its reason naming the line; the sweep does not stop (it used to stop every sweep: "API key
unavailable")."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import pytest

from local.sftp_server import SftpServer
from local.simulator import FileSpec, Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.entry.producer import register
from tests.conftest import API_KEY, Ticks


def blob(kind: str) -> str:
    name = kind.encode()
    return base64.b64encode(struct.pack(">I", len(name)) + name + b"\0" * 40).decode()


def messages(stack: LocalStack) -> dict[str, dict[str, Any]]:
    assert stack.queue_url is not None
    found = [json.loads(m["Message"]) for m in drain(stack, stack.queue_url)]
    return {m["request_id"]: m for m in found}


@pytest.mark.env(SFTP_TIMEOUT_SECONDS="1", CONCURRENCY="1")
def test_an_https_file_is_archived_and_each_sftp_file_is_refused_naming_the_line(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, sftp_server: SftpServer
) -> None:
    # Given a secret whose sftp section pins the server with a good line, then a line whose key is not of its type
    section = sftp_server.section()
    bad = f"127.0.0.1 ssh-ed25519 {blob('ssh-rsa')}"
    section["host_keys"] = [*section["host_keys"], bad]
    secret = json.dumps({"api_key": API_KEY, "sftp": section})
    stack.client("secretsmanager").put_secret_value(SecretId=stack.secret_id, SecretString=secret)
    sftp_server.put("ok.csv", b"email\r\nx@example.com\r\n")
    sim.add_file("h.csv", FileSpec(b"email\r\ny@example.com\r\n"))
    sim.script("https-one", Step.done_get(f"{sim.base_url}{sim.api_file_path('h.csv')}"))
    sim.script("sftp-one", Step.done_get(sftp_server.url("/outbox/ok.csv")))
    for rid in ("https-one", "sftp-one"):
        register(stack.client("dynamodb"), stack.table, rid)
    # When the handler runs once
    [summary] = handler_ticks()
    # Then both complete and the sweep did not stop
    found = messages(stack)
    assert sorted(found) == ["https-one", "sftp-one"]
    assert summary["completed"] == 2 and not summary.get("systemic") and summary.get("stopped") is None
    # And the HTTPS file was archived, the SFTP one refused with the line number and never the key
    assert found["https-one"]["files"][0]["archived"] is True
    [sftp_file] = found["sftp-one"]["files"]
    line = len(section["host_keys"])
    assert sftp_file["archived"] is False and f"sftp.host_keys line {line}" in sftp_file["reason"]
    assert blob("ssh-rsa") not in json.dumps(found) and sftp_server.connections == 0
