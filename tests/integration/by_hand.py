"""What an operator or a test does by hand: run `profile-poller` in-process, write an item straight to the table."""

from __future__ import annotations

from typing import Any

import pytest

from local.stack import LocalStack
from profile_poller.adapters.dynamo_items import to_dynamo
from profile_poller.entry.cli import main


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of one command (what was printed before it is dropped)."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def put(stack: LocalStack, **attributes: Any) -> None:
    """The item as given, unconditionally, in plain values."""
    stack.client("dynamodb").put_item(TableName=stack.table, Item=to_dynamo(attributes))
