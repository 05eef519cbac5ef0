"""`make demo`: the whole product on this machine, no AWS account and no Docker needed.

Starts a moto server and the Campaign API simulator on 127.0.0.1, creates the stack's resources, stores the
API secret, registers requests covering every scenario, then runs the real handler with events/schedule.json
over several scheduled ticks (the clock jumps an hour between ticks) and prints what a user would look at; then
one job that finishes 30 s after submission, announced seconds later by a sweep with the template's cadence
(local/demo_short_job.py).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from local.context import LambdaContext, OffsetClock
from local.demo_short_job import short_job
from local.demo_workflow import outcome_rule, print_outcome_events, workflow_demo
from local.registration import create_registration, deliver, put_submissions, queued
from local.sftp_server import SftpServer
from local.simulator import FileSpec, Simulator, Step
from local.stack import apply_env, aws_env, create_stack, drain, moto_server
from local.workflow import OUTCOME_BUS
from profile_poller.core.model import Kind

ROOT = Path(__file__).resolve().parent.parent
TICKS = 6
TICK_SECONDS = 3600
API_KEY = "demo-key-not-a-secret"

ERRORS_A = (
    b"Code, Description, Index\r\n"
    b'3005, "Invalid Profile ID", 1\r\n'
    b'7031 , "Profile Id and Profile name do not match", 4\r\n'
    b'3005, "Invalid Profile ID", 9\r\n'
)
ERRORS_B = b'Code,Description,Index\r\n1001,"Invalid input JSON: field ""email"" missing",2\r\n'
ERRORS_C = b'Code, Description, Index\r\n102, "Invalid profile id \\"abc\\"", 3\r\n'


def _sftp_scenarios(sftp: SftpServer) -> list[tuple[str, Kind | None, int, list[Step]]]:
    """Files on the tenant's SFTP server (a real one on 127.0.0.1): a clean copy, a connection dropped mid-file
    (retried, then copied), and a file the server refuses us (the request completes, the file is not archived)."""
    sftp.put("profiles-sftp.csv", b"email,tier\r\nd@example.com,gold\r\n" * 20_000)
    sftp.put("errors-sftp.csv", b"Code, Description, Index\r\n" + b'3005, "Invalid Profile ID", 5\r\n' * 2)
    sftp.put("dropped-sftp.csv", b"email,tier\r\ne@example.com,silver\r\n" * 20_000)
    sftp.fault("dropped-sftp.csv", "drop")
    sftp.put("locked-sftp.csv", b"email\r\n")
    sftp.fault("locked-sftp.csv", "deny")
    return [
        ("get-sftp", Kind.GET, 0, [Step.done_get(sftp.url("/outbox/profiles-sftp.csv"))]),
        ("upd-errors-sftp", Kind.UPDATE, 0, [Step.pending(), Step.done_update(9, sftp.url("/outbox/errors-sftp.csv"))]),
        ("get-sftp-dropped-then-done", Kind.GET, 0, [Step.done_get(sftp.url("/outbox/dropped-sftp.csv"))]),
        ("get-sftp-permission-denied", Kind.GET, 0, [Step.done_get(sftp.url("/outbox/locked-sftp.csv"))]),
    ]


def _scenarios(sim: Simulator) -> list[tuple[str, Kind | None, int, list[Step]]]:
    """(request-id, kind, age in seconds at registration, the API's answers in order)."""
    sim.add_file("errors-a.csv", FileSpec(ERRORS_A))
    sim.add_file("errors-b.csv", FileSpec(ERRORS_B))
    sim.add_file("errors-c.csv", FileSpec(ERRORS_C, faults=["truncate"]))
    sim.add_file("header-only.csv", FileSpec(b"Code, Description, Index\r\n"))
    sim.add_file("profiles-1.json", FileSpec(b'[{"email":"a@example.com","tier":"gold"}]\n'))
    sim.add_file("profiles-2.csv", FileSpec(b"email,tier\r\nb@example.com,silver\r\n" * 50))
    sim.add_file("profiles-3.csv", FileSpec(b"email,tier\r\nc@example.com,bronze\r\n"))
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    return [
        (
            "upd-errors-relative",
            Kind.UPDATE,
            0,
            [Step.pending(), Step.done_update(40, sim.api_file_path("errors-a.csv"))],
        ),
        ("upd-errors-absolute", Kind.UPDATE, 0, [Step.done_update("12", sim.public_file_url("errors-b.csv"))]),
        ("upd-no-error-file", Kind.UPDATE, 0, [Step.done_update(25, None)]),
        ("upd-header-only", Kind.UPDATE, 0, [Step.done_update(10, sim.api_file_path("header-only.csv"))]),
        ("get-relative", Kind.GET, 0, [Step.pending(), Step.done_get(sim.api_file_path("profiles-1.json"))]),
        ("get-absolute", None, 0, [Step.done_get(sim.public_file_url("profiles-2.csv"))]),
        ("still-pending-1", Kind.UPDATE, 0, [Step.pending()]),
        ("still-pending-2", Kind.GET, 0, [Step.pending()]),
        ("invalid-profile-3005", Kind.GET, 0, [Step.error(200, 3005, "Invalid Profile ID")]),
        ("name-mismatch-7031", Kind.GET, 0, [Step.error(200, "7031", "Profile Id and Profile name do not match")]),
        ("bad-json-1001", Kind.UPDATE, 0, [Step.error(400, 1001, "Invalid input JSON")]),
        ("throttled-then-done", Kind.UPDATE, 0, [Step.throttle(retry_after=60), Step.done_update(5, None)]),
        (
            "http-500-then-done",
            Kind.GET,
            0,
            [
                Step.error(500, 500, "Internal server error"),
                Step.raw(502, html),
                Step.done_get(sim.api_file_path("profiles-3.csv")),
            ],
        ),
        ("truncated-then-done", Kind.UPDATE, 0, [Step.done_update(7, sim.api_file_path("errors-c.csv"))]),
        ("reset-then-done", Kind.UPDATE, 0, [Step.reset(), Step.done_update(3, None)]),
        ("request-failed-499", Kind.UPDATE, 0, [Step.error(499, 499, "Request failed"), Step.done_update(1, None)]),
        ("non-json-then-pending", Kind.GET, 0, [Step.raw(200, b"OK", "text/plain"), Step.pending()]),
        ("expired-1", Kind.UPDATE, 3 * 86400, [Step.pending()]),
        ("expired-2", Kind.GET, 3 * 86400, [Step.error(503, 500, "Service unavailable")]),
    ]


def _register_function() -> Any:
    """functions/register/app.py as Lambda imports it (the poller's app.py holds the name `app` here)."""
    spec = importlib.util.spec_from_file_location("register_app", ROOT / "functions" / "register" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _source_kind(source: str) -> str:
    if source.startswith("sftp://"):
        return "sftp"
    return "https" if "://" in source else "api path"


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("{:<" + str(w) + "}" for w in widths)
    print(line.format(*header))
    print(line.format(*["-" * w for w in widths]))
    for row in rows:
        print(line.format(*row))


def main() -> int:
    sys.path.insert(0, str(ROOT / "functions" / "poller"))
    log_dir = ROOT / ".demo"
    log_dir.mkdir(exist_ok=True)
    log_path = log_dir / "handler.log"
    with (
        moto_server() as endpoint,
        Simulator(valid_keys={API_KEY}) as sim,
        SftpServer() as sftp,
        log_path.open("w") as log_file,
    ):
        apply_env(aws_env(endpoint))
        stack = create_stack(endpoint, API_KEY)
        secret = json.dumps({"api_key": API_KEY, "sftp": sftp.section()})  # the tenant's SFTP server, key pinned
        stack.client("secretsmanager").put_secret_value(SecretId=stack.secret_id, SecretString=secret)
        # bare paths stay API-relative HTTPS (FILE_SOURCE=https); sftp:// values go to the SFTP server
        env = stack.function_env(sim.base_url, file_hosts="localhost", CONCURRENCY="4", FILE_SOURCE="https")
        failed_events = outcome_rule(stack)  # issue 19: a rule on the outcome bus, {"detail": {"status": ["FAILED"]}}
        env["OUTCOME_BUS_NAME"] = OUTCOME_BUS
        apply_env({**env, "SFTP_TIMEOUT_SECONDS": "2"})
        print(f"moto server     {endpoint}")
        print(f"API simulator   {sim.base_url} (files also on {sim.file_host_url})")
        print(f"SFTP server     {sftp.url('/outbox')} (asyncssh; host key pinned in the secret)")
        print(f"handler logs    {log_path.relative_to(ROOT)}\n")

        import app  # the real handler module, as Lambda imports it
        from profile_poller.adapters.dynamo_items import to_dynamo
        from profile_poller.entry.cli import main as profile_poller
        from profile_poller.entry.config import RegisterSettings, load_settings
        from profile_poller.entry.producer import register
        from profile_poller.entry.register import RegisterRuntime
        from profile_poller.entry.runtime import Runtime

        clock = OffsetClock()
        # a Retry-After or a rate-limit wait moves the simulated clock on instead of holding the demo up
        app.use_runtime(Runtime.build(load_settings(), clock=clock, sleep=clock.advance))
        for handler in logging.getLogger("profile-poller").handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(log_file)

        ddb = stack.client("dynamodb")
        registration = create_registration(stack)
        register_function = _register_function()
        register_function.use_runtime(
            RegisterRuntime.build(RegisterSettings(stack.table, registration.rejected_url), clock=clock)
        )
        scenarios = _scenarios(sim) + _sftp_scenarios(sftp)
        by_event = []
        for number, (request_id, kind, age, steps) in enumerate(scenarios):
            sim.script(request_id, *steps)
            if number % 3 == 0 and kind is not None:  # a third of them through the event bus, with a correlation
                detail = {"request_id": request_id, "kind": kind.value, "submitted_at": int(clock()) - age}
                by_event.append({**detail, "correlation": {"workflow": "demo", "step": str(number)}})
            else:
                register(ddb, stack.table, request_id, kind=kind, submitted_at=int(clock()) - age)
        put_submissions(stack, registration.bus, by_event)
        bad = '{"request_id": "no/slashes", "kind": "update"}'  # a record that can never be registered
        stack.client("sqs").send_message(QueueUrl=registration.queue_url, MessageBody=bad)
        with contextlib.redirect_stdout(io.StringIO()) as emf:
            deliver(stack, registration, register_function.lambda_handler)
        log_file.write(emf.getvalue())
        [rejected] = queued(stack, registration.rejected_url)
        print(
            f"{len(by_event)} registered through the event bus (PutEvents -> rule -> queue -> RegisterFunction), "
            f"1 rejected: {rejected['MessageAttributes']['reason']['StringValue']}"
        )
        # a hand-written item with an id that must never reach a URL
        ddb.put_item(
            TableName=stack.table,
            Item=to_dynamo(
                {"request_id": "../../etc/passwd?x=1", "status": "PENDING", "due_shard": "0", "next_check_at": 0}
            ),
        )
        print(f"registered {len(scenarios) + 1} requests in all\n")

        event = json.loads((ROOT / "events" / "schedule.json").read_text())
        for tick in range(1, TICKS + 1):
            with contextlib.redirect_stdout(io.StringIO()) as emf:  # EMF metrics lines go to the log file
                summary = app.lambda_handler(event, LambdaContext())
            log_file.write(emf.getvalue())
            shown = {k: v for k, v in summary.items() if v and k not in ("oldest_pending_age_seconds",)}
            print(f"tick {tick}: {json.dumps(shown)}")
            clock.advance(TICK_SECONDS)

        scanned = ddb.scan(TableName=stack.table)["Items"]
        items = sorted((i for i in scanned if "status" in i), key=lambda i: i["request_id"]["S"])  # not the lease
        rows = []
        for raw in items:
            outcome: dict[str, Any] = raw.get("outcome", {}).get("M", {})
            files = outcome.get("s3_uris", {}).get("L", [])

            def num(name: str, o: dict[str, Any] = outcome) -> str:
                value = o.get(name, {})
                return value.get("N", "-") if isinstance(value, dict) else "-"

            keys = ", ".join(f["S"].split("/", 3)[3] for f in files) or "-"
            listed = [f.get("M", {}) for f in outcome.get("files", {}).get("M", {}).values()]
            sources = ", ".join(sorted({_source_kind(f.get("source", {}).get("S", "")) for f in listed})) or "-"
            lost = [f for f in listed if f.get("archived", {}).get("BOOL") is False]
            if lost:
                keys = "not archived: " + lost[0].get("reason", {}).get("S", "")[:40]
            row = [raw["request_id"]["S"], raw["status"]["S"], num("update_count"), num("error_count"), sources, keys]
            rows.append(row)
        print()
        _print_table(rows, ["request-id", "state", "update-count", "error-count", "from", "S3 key"])
        print(f"\nSFTP connections opened: {sftp.connections} (one per sweep that met SFTP files, plus reconnects)")

        print("\nS3 objects")
        for obj in stack.client("s3").list_objects_v2(Bucket=stack.bucket).get("Contents", []):
            print(f"  {obj['Size']:>6} B  s3://{stack.bucket}/{obj['Key']}")

        assert stack.queue_url is not None
        messages = drain(stack, stack.queue_url)
        print(f"\nSNS messages received by the SQS subscription: {len(messages)}")
        for envelope in sorted(messages, key=lambda m: json.loads(m["Message"])["request_id"]):
            attrs = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
            correlation = json.loads(envelope["Message"])["correlation"]
            tail = f"  correlation={json.dumps(correlation, sort_keys=True)}" if correlation else ""
            print(f"  {envelope['Subject']}  {json.dumps(attrs, sort_keys=True)}{tail}")
        pending = [r for r in rows if r[1] == "PENDING"]
        print(
            f"\ndone: {len(rows) - len(pending)} settled, {len(pending)} still pending "
            f"(as scripted), {len(messages)} notifications"
        )
        print_outcome_events(stack, failed_events)
        short_job(app, sim, stack, clock, register, load_settings, Runtime)
        workflow_demo(sim, API_KEY, register_function)
        print("\n$ profile-poller stats   # the CLI reads the wall clock; the sweeps above ran 6 simulated hours ahead")
        sys.stdout.flush()
        profile_poller(["stats"])
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    try:
        code = main()
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped")
        code = 130
    sys.exit(code)
