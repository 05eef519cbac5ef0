"""End to end (moto server + simulator + asyncssh): a request whose `sftp://` file names a host and port the secret
pins no key for completes with that file not archived and the reason, and the sweep serves every other request
(issue 17, item 5: it used to stop the sweep as systemic, first in the due index at every sweep)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.sftp_server import SftpServer
from local.simulator import Simulator, Step
from local.stack import LocalStack, drain
from profile_poller.entry.producer import register
from tests.conftest import API_KEY, Ticks


def messages(stack: LocalStack) -> dict[str, dict[str, Any]]:
    assert stack.queue_url is not None
    found = [json.loads(m["Message"]) for m in drain(stack, stack.queue_url)]
    return {m["request_id"]: m for m in found}


@pytest.mark.env(SFTP_TIMEOUT_SECONDS="1", CONCURRENCY="1")
def test_a_file_on_an_unpinned_endpoint_completes_not_archived_and_the_others_are_served(
    stack: LocalStack, sim: Simulator, handler_ticks: Ticks, sftp_server: SftpServer
) -> None:
    # Given a secret pinning the server on its port, one answer naming another port, and three ordinary requests
    secret = json.dumps({"api_key": API_KEY, "sftp": sftp_server.section()})
    stack.client("secretsmanager").put_secret_value(SecretId=stack.secret_id, SecretString=secret)
    sftp_server.put("ok.csv", b"email\r\nx@example.com\r\n")
    other_port = sftp_server.port + 1 if sftp_server.port < 65535 else sftp_server.port - 1
    sim.script("stray", Step.done_get(f"sftp://127.0.0.1:{other_port}/outbox/ok.csv"))
    for rid in ("a", "b", "c"):
        sim.script(rid, Step.done_get(sftp_server.url("/outbox/ok.csv")))
    for rid in ("stray", "a", "b", "c"):
        register(stack.client("dynamodb"), stack.table, rid)
    # When the handler runs once
    [summary] = handler_ticks()
    # Then all four complete: the stray file not archived with the reason, the others archived
    found = messages(stack)
    assert sorted(found) == ["a", "b", "c", "stray"]
    assert summary["completed"] == 4 and not summary.get("systemic")
    [stray] = found["stray"]["files"]
    assert stray["archived"] is False and "no pinned host key" in stray["reason"]
    assert all(found[rid]["files"][0]["archived"] for rid in ("a", "b", "c"))
