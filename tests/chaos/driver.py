"""Chaos run: many requests, randomised API and download faults, overlapping and killed sweeps, a key
rotation; then the invariants users rely on are checked against what really landed in moto.

`python -m tests.chaos --requests 1000` (make chaos) prints
`chaos: requests=N lost=0 stuck=0 duplicate_event_ids=0 objects_mismatched=0 notified=N terminal=T pending=P
aws_faults=F max_rate_ratio=M throttled_share=S` (the AWS faults the proxy injected, tests/chaos/aws_faults.py;
the busiest second of status calls over RATE_LIMIT_PER_SECOND; the share of status calls the simulated tenant's
hidden limit, HIDDEN_LIMIT a second, answered 429; scripted 429s are faults and not counted there).
This module scripts the requests and runs the sweeps; the crash points are tests/chaos/crashes.py, the Report and
the invariants checked after the run tests/chaos/invariants.py, the virtual clock tests/chaos/virtual_time.py.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import replace

from local.faultproxy import FaultProxy
from local.simulator import FileSpec, Simulator, Step
from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.core.sweep import Sweep
from profile_poller.entry.config import load_settings
from profile_poller.entry.observability import logger
from profile_poller.entry.runtime import Runtime
from tests.chaos import poison
from tests.chaos.aws_faults import BASE, big_rows, chaos_policy, round_rules
from tests.chaos.crashes import Crash, Dying, Killer
from tests.chaos.invariants import Report, check
from tests.chaos.outage import run_outage
from tests.chaos.sftp_files import SftpPlan
from tests.chaos.virtual_time import VirtualClock, virtual_aws_backoff

KEY_1, KEY_2 = "chaos-key-one-4f1c", "chaos-key-two-9d2e"
LEASE = 600
RATE = 100  # RATE_LIMIT_PER_SECOND of the chaos sweeps
HIDDEN_LIMIT = 80  # what the simulated tenant accepts a second (429 above)
HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
FAULTS: list[Callable[[], Step]] = [
    lambda: Step.error(500, 500, "Internal server error"),
    lambda: Step.error(499, 499, "Request failed"),
    lambda: Step.raw(502, HTML),
    lambda: Step.throttle(retry_after=30),
    Step.throttle,
    Step.hang,
    Step.reset,
    lambda: Step.raw(200, b'{"code": 1010, "descr'),
    lambda: Step.raw(200, b"OK", "text/plain"),
    lambda: Step.raw(200, b""),
]
FILE_FAULTS: list[list[str]] = [[], [], ["truncate"], ["reset"], ["500"], ["truncate", "reset"]]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.setFormatter(logger.registered_formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.text.append(self.format(record))


def _plan(
    sim: Simulator, rid: str, rng: random.Random, big: bool = False, sftp: SftpPlan | None = None
) -> dict[str, bytes]:
    """Script one request; return the files it should end up with in the archive, by role. A big file (9 MiB)
    goes to S3 as a multipart upload (UploadPart, CompleteMultipartUpload: the AWS faults reach those too)."""
    steps = [Step.pending()] if rng.random() < 0.5 else []
    steps += [rng.choice(FAULTS)() for _ in range(rng.choice([0, 0, 1, 2, 3]))]
    final = rng.choices(["update", "update-clean", "get", "3005", "7031", "pending"], [4, 2, 3, 1, 1, 1])[0]
    final = final if final in ("update", "get") or not big else "update"
    files: dict[str, bytes] = {}
    if final in ("update", "get"):
        rows = b"".join(
            b'%d, "Problem \\"%d\\"", %d\r\n' % (rng.choice([3005, 7031, 102]), i, i) for i in range(rng.randint(0, 40))
        )
        data = (b"Code, Description, Index\r\n" + rows) if final == "update" else rows + b"profile\r\n"
        data += big_rows() if big else b""
        name = f"{rid}.csv"
        sim.add_file(name, FileSpec(data, faults=list(rng.choice(FILE_FAULTS))))
        path = sim.api_file_path(name) if rng.random() < 0.5 else sim.public_file_url(name)
        path = (sftp.file_value(rid, name, data, rng) if sftp else None) or path
        role = "error-file" if final == "update" else "file"
        files[role] = data
        steps.append(Step.done_update(rng.randint(0, 99), path) if final == "update" else Step.done_get(path))
    elif final == "update-clean":
        steps.append(Step.done_update(str(rng.randint(0, 99)), None))
    elif final in ("3005", "7031"):
        steps.append(Step.error(200, final, "bad profile"))
    else:
        steps.append(Step.pending())
    sim.script(rid, *steps)
    return files


def run_chaos(stack: LocalStack, sim: Simulator, requests: int, seed: int = 7, sftp: SftpPlan | None = None) -> Report:
    """The sweeps' AWS clients go through a fault proxy; the setup and the checker talk to moto directly."""
    sim.hidden_limit = HIDDEN_LIMIT  # the tenant's own limit, below ours: the sweeps find it (AIMD)
    clock = VirtualClock()
    sim.clock = clock  # the hidden limit counts calls per second of the sweeps' own (virtual) time
    with FaultProxy(stack.endpoint, BASE, seed) as proxy, virtual_aws_backoff(clock):
        report = _run(stack, sim, requests, seed, proxy, sftp, clock)
    report.aws_faults = proxy.total
    report.max_rate_ratio = sim.busiest_window(1.0) / RATE
    report.throttled_share = len(sim.throttled_times) / max(1, len(sim.status_times))
    report.details.update({f"aws {s}.{o} {f}": [str(n)] for (s, o, f), n in sorted(proxy.injected.items())})
    return report


def _secret(key: str, sftp: SftpPlan | None) -> str:
    return json.dumps({"api_key": key, "sftp": sftp.server.section()} if sftp else {"api_key": key})


def _run(
    stack: LocalStack,
    sim: Simulator,
    requests: int,
    seed: int,
    proxy: FaultProxy,
    sftp: SftpPlan | None,
    clock: VirtualClock,
) -> Report:
    rng = random.Random(seed)
    storms = random.Random(seed + 1)  # its own sequence: the API faults and sweep modes stay as they were
    lines = _Lines()
    logging.getLogger(logger.name).addHandler(lines)
    env = stack.function_env(
        sim.base_url,
        file_hosts="localhost",
        CONCURRENCY="8",
        HTTP_TIMEOUT_SECONDS="0.3",
        LEASE_SECONDS=str(LEASE),
        MAX_AGE_SECONDS="7200",
        MAX_TRANSIENT_ERRORS="6",
        RATE_LIMIT_PER_SECOND=str(RATE),
        BACKOFF_BASE_SECONDS="20",
        BACKOFF_MAX_SECONDS="600",
        FILE_SOURCE="https",  # bare paths stay API-relative HTTPS; sftp:// values go to the SFTP server
        SFTP_TIMEOUT_SECONDS="0.3",
    )
    settings = load_settings(env)
    ddb = stack.client("dynamodb")
    expected: dict[str, dict[str, bytes]] = {}
    start = int(clock())
    ids = [f"chaos-{i:05d}" for i in range(requests)]
    if sftp is not None:
        stack.client("secretsmanager").put_secret_value(SecretId=stack.secret_id, SecretString=_secret(KEY_1, sftp))
    poisons = {rid: kind for i, rid in enumerate(ids) if (kind := poison.poison_of(i)) is not None}
    poison_rng = random.Random(seed + 2)  # its own sequence: the other requests' plans stay as they were
    for rid in ids:
        expected[rid] = _plan(
            sim, rid, rng, big=int(rid[-5:]) % 50 == 7, sftp=None if int(rid[-5:]) % 50 == 7 else sftp
        )
        if poisons.get(rid) in poison.FILE_POISONS:
            expected[rid] = poison.script(sim, rid, poisons[rid], poison_rng, FILE_FAULTS)
            if sftp is not None:
                sftp.denied.discard(rid)  # the poison's own script replaced the SFTP file
    for first in range(0, len(ids), 25):
        ddb.batch_write_item(
            RequestItems={
                stack.table: [
                    {
                        "PutRequest": {
                            "Item": to_dynamo(
                                {
                                    "request_id": rid,
                                    "status": "PENDING",
                                    "due_shard": "0",
                                    "next_check_at": 0,
                                    "submitted_at": start * (1000 if poisons.get(rid) == "ms-submitted-at" else 1),
                                    "kind": rng.choice(["update", "get", "bogus"]),
                                }
                            )
                        }
                    }
                    for rid in ids[first : first + 25]
                ]
            }
        )

    sweeps = crashed = 0
    # warm Lambda containers, reused; their AWS clients go through the fault proxy
    containers = [
        Runtime.build(settings, clock=clock, sleep=clock.sleep, aws=chaos_policy(proxy.url)) for _ in range(2)
    ]

    def one_sweep(container: Runtime, kill: str | None, budget_calls: int | None) -> None:
        nonlocal sweeps, crashed
        killer = Killer(kill)
        base = container.deps
        deps = replace(
            base,
            archive=Dying(base.archive, killer, {}, {"put": "after-archive"}),
            notifier=Dying(base.notifier, killer, {}, {"publish": "after-publish"}),
            store=Dying(base.store, killer, {"finish": "before-transition"}, {}),
        )
        calls = {"n": 0}

        def remaining() -> int:
            calls["n"] += 1
            return 1_000 if budget_calls is not None and calls["n"] > budget_calls else 600_000

        sweeps += 1
        try:
            Sweep(settings, deps, f"chaos-{sweeps}", remaining).run()
        except Crash:
            crashed += 1

    rounds = 0
    while rounds < 40 + requests:  # a 429 stops a whole sweep, so many faults need many sweeps
        rounds += 1
        if rounds == 6:  # the key is rotated: the API retires the old one, the secret gets the new one
            sim.rotate_key(KEY_2)
            stack.client("secretsmanager").put_secret_value(SecretId=stack.secret_id, SecretString=_secret(KEY_2, sftp))
        if sftp is not None:
            sftp.before_round(rounds)
        proxy.set_rules(round_rules(storms))
        if storms.random() < 0.1:  # a cold start: a new container reads the secret (through the proxy) again
            containers[storms.randrange(2)] = Runtime.build(
                settings, clock=clock, sleep=clock.sleep, aws=chaos_policy(proxy.url)
            )
        mode = rng.choice(["one", "two", "two", "kill", "budget"])
        if mode == "two":
            workers = [threading.Thread(target=one_sweep, args=(c, None, None)) for c in containers]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        else:
            kill = rng.choice(["after-archive", "after-publish", "before-transition"]) if mode == "kill" else None
            one_sweep(rng.choice(containers), kill, rng.randint(5, 60) if mode == "budget" else None)
        clock.sleep(rng.choice([30, 120, 600, LEASE + 1]))
        due = ddb.query(
            TableName=stack.table,
            IndexName="due",
            Select="COUNT",
            KeyConditionExpression="due_shard = :s",
            ExpressionAttributeValues=to_dynamo({":s": "0"}),
        )
        if due["Count"] == 0:
            break
    # the outage phase: hours of a failing API, no AWS faults, no kills (tests/chaos/outage.py)
    proxy.set_rules([])

    def advance(seconds: float) -> None:
        clock.offset += seconds

    outage = run_outage(
        stack, sim, clock, advance, lambda: one_sweep(containers[0], None, None), max(10, requests // 20)
    )
    ids += outage.ids
    logging.getLogger(logger.name).removeHandler(lines)
    denied = sftp.denied if sftp else set()
    report = check(
        stack,
        ids,
        expected,
        clock,
        lines.text,
        sweeps,
        crashed,
        poisons,
        start,
        denied,
        lease=LEASE,
        keys=(KEY_1, KEY_2),
    )
    report.outage_failed = outage.failed
    report.details["outage"] = outage.detail()
    return report
