"""`profile-poller`: the producer's command line (register, show, list). Reads TABLE_NAME and DUE_SHARDS."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from ..core.model import InvalidRequestId, Kind, Status
from . import producer
from .aws import AwsPolicy
from .config import ConfigError, load_due_shards, load_table_name


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="profile-poller", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    register = commands.add_parser("register", help="register a request-id as pending")
    register.add_argument("request_id")
    register.add_argument("--kind", choices=[k.value for k in Kind], default=None)
    register.add_argument("--submitted-at", type=int, default=None, help="epoch seconds (default: now)")
    show = commands.add_parser("show", help="print one request as JSON")
    show.add_argument("request_id")
    listing = commands.add_parser("list", help="list requests in a state")
    listing.add_argument("--status", choices=[s.value for s in Status], default=Status.PENDING.value)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        table = load_table_name()
        shards = load_due_shards()
        client = AwsPolicy().client(boto3.session.Session(), "dynamodb", pool=2)
        if args.command == "register":
            kind = Kind(args.kind) if args.kind else None
            item = producer.register(
                client, table, args.request_id, kind=kind, submitted_at=args.submitted_at, shards=shards
            )
            print(json.dumps(item, sort_keys=True))
        elif args.command == "show":
            found = producer.get(client, table, args.request_id)
            if found is None:
                print(f"profile-poller: no request {args.request_id!r}", file=sys.stderr)
                return 1
            print(json.dumps(found, sort_keys=True, indent=2))
        else:
            for item in producer.list_by_status(client, table, Status(args.status), shards):
                outcome = item.get("outcome") or {}
                print(
                    f"{item['request_id']}\t{item.get('status')}\t"
                    f"update_count={outcome.get('update_count')}\terror_count={outcome.get('error_count')}"
                )
    except (ConfigError, InvalidRequestId, producer.AlreadyRegistered) as exc:
        print(f"profile-poller: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"profile-poller: AWS call failed: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
