"""`profile-poller`: the producer's and the operator's command line (docs/operations.md).

Exit codes: 0 done; 1 nothing (or not everything) done: no such request, or refused because of its state;
2 bad usage, invalid input or no table; 3 an AWS call failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError

from ...core.model import InvalidRequestId, Kind, Status
from ...core.ports import PublishError, StoreError
from ...core.registration import shown
from .. import producer
from ..config import ConfigError
from . import operator
from .target import resolve

OK, NOTHING_DONE, USAGE, AWS_FAILED = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("table (first found: --table, TABLE_NAME, --stack)")
    where.add_argument("--table", help="the requests table's name")
    where.add_argument("--stack", help="a deployed stack's name: its RequestsTableName output")
    reads = argparse.ArgumentParser(add_help=False)
    reads.add_argument("--json", action="store_true", help="machine-readable output")
    parser = argparse.ArgumentParser(prog="profile-poller", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    register = commands.add_parser("register", parents=[common], help="register a request-id as pending")
    register.add_argument("request_id")
    register.add_argument("--kind", choices=[k.value for k in Kind], default=None)
    register.add_argument("--submitted-at", type=int, default=None, help="epoch seconds (default: now)")
    register.add_argument(
        "--task-token",
        default=None,
        help="a Step Functions task token to call back when the request finishes; '-' reads it from stdin "
        "(keeps it out of the process list and shell history)",
    )
    show = commands.add_parser("show", parents=[common, reads], help="print one request (JSON)")
    show.add_argument("request_id")
    listing = commands.add_parser("list", parents=[common, reads], help="list requests in a state")
    listing.add_argument("--status", choices=[s.value for s in Status], default=Status.PENDING.value)
    retry = commands.add_parser(
        "retry", parents=[common, reads], help="put FAILED/EXPIRED requests back to PENDING, due now"
    )
    retry.add_argument("request_ids", nargs="*", metavar="ID")
    retry.add_argument("--status", choices=[Status.FAILED.value, Status.EXPIRED.value])
    retry.add_argument("--since", help="with --status: finished on or after this date (2026-11-27) or ISO time")
    republish = commands.add_parser(
        "republish", parents=[common, reads], help="publish a finished request's outcome again (same event_id)"
    )
    republish.add_argument("request_id")
    republish.add_argument("--topic", help="the outcomes topic's ARN (else TOPIC_ARN, else the --stack output)")
    commands.add_parser("stats", parents=[common, reads], help="counts per status, due now, oldest pending (scans)")
    return parser


def _list(target: operator.Target, status: str, as_json: bool) -> int:
    for item in producer.list_by_status(target.dynamodb, target.table, Status(status), target.shards):
        outcome = item.get("outcome") or {}
        if as_json:
            print(json.dumps(shown(item), sort_keys=True))
            continue
        print(
            f"{item['request_id']}\t{item.get('status')}\t"
            f"update_count={outcome.get('update_count')}\terror_count={outcome.get('error_count')}"
        )
    return OK


def _run(args: argparse.Namespace) -> int:
    if args.command == "retry" and args.request_ids and (args.status or args.since):
        raise ConfigError("retry takes request-ids or --status [--since], not both")
    if args.command == "retry" and args.since and not args.status:
        raise ConfigError("--since needs --status")
    target = resolve(args.table, args.stack, getattr(args, "topic", None))
    if args.command == "register":
        kind = Kind(args.kind) if args.kind else None
        token = sys.stdin.readline().strip() if args.task_token == "-" else args.task_token  # noqa: S105
        item = producer.register(
            target.dynamodb,
            target.table,
            args.request_id,
            kind=kind,
            submitted_at=args.submitted_at,
            shards=target.shards,
            task_token=token,
        )
        print(json.dumps(shown(item), sort_keys=True))
        return OK
    if args.command == "show":
        found = producer.get(target.dynamodb, target.table, args.request_id)
        if found is None:
            print(f"profile-poller: no request {args.request_id!r}", file=sys.stderr)
            return NOTHING_DONE
        print(json.dumps(shown(found), sort_keys=True, indent=None if args.json else 2))
        return OK
    if args.command == "list":
        return _list(target, args.status, args.json)
    if args.command == "retry":
        return operator.retry(target, args.request_ids, args.status, args.since, args.json)
    if args.command == "republish":
        return operator.republish(target, args.request_id, args.json)
    return operator.stats(target, args.json)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (
        ConfigError,
        InvalidRequestId,
        producer.InvalidSubmittedAt,
        producer.InvalidTaskToken,
        producer.AlreadyRegistered,
    ) as exc:
        print(f"profile-poller: {exc}", file=sys.stderr)
        return USAGE
    except (StoreError, PublishError) as exc:
        print(f"profile-poller: {exc}", file=sys.stderr)
        return AWS_FAILED
    except (ClientError, BotoCoreError) as exc:
        print(f"profile-poller: AWS call failed: {exc}", file=sys.stderr)
        return AWS_FAILED


if __name__ == "__main__":
    sys.exit(main())
