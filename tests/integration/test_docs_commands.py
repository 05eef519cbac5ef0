"""Commands shown in the docs are ones that run: every `profile-poller ...` line parses with the real CLI and its
subcommand is exercised by the CLI tests; every `make` target exists; `make invoke FUNCTION=RegisterFunction` runs
the registration function from the template against the moto stack. What `make demo` shows: test_demo.py."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from local.registration import create_registration
from local.stack import LocalStack, aws_env
from profile_poller.adapters.dynamo_items import from_dynamo
from profile_poller.entry.cli.commands import _parser

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CLI_TESTS = [ROOT / "tests/integration/test_cli.py", ROOT / "tests/integration/test_operator_cli.py"]


def shown_commands(prefix: str, inline: bool = True) -> list[tuple[str, str]]:
    """(doc, command) for every line of an sh block (and every inline `code`) starting with prefix."""
    found: list[tuple[str, str]] = []
    for doc in DOCS:
        text = doc.read_text()
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            found += [(doc.name, line.split("  #")[0].strip()) for line in block.splitlines()]
        if inline:
            found += [(doc.name, code) for code in re.findall(r"`([^`\n]+)`", text)]
    return [(doc, command) for doc, command in found if command.startswith(prefix + " ")]


def test_every_cli_line_in_the_docs_parses_and_its_command_is_tested() -> None:
    tested = "\n".join(path.read_text() for path in CLI_TESTS)
    lines = shown_commands("profile-poller", inline=False)
    assert len(lines) >= 8
    for doc, command in lines:  # command lines: the real parser takes them
        try:
            _parser().parse_args(shlex.split(command)[1:])
        except SystemExit:
            pytest.fail(f"{doc}: `{command}` is not a valid command line")
    for doc, command in shown_commands("profile-poller"):  # lines and mentions: a command some CLI test runs
        subcommand = command.split()[1]
        assert f'"{subcommand}"' in tested, f"{doc}: `{command}`: no CLI test runs {subcommand!r}"


def test_every_make_target_in_the_docs_exists() -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))
    commands = shown_commands("make")
    assert len(commands) >= 5
    for doc, command in commands:
        target = shlex.split(command)[1]
        assert target in targets, f"{doc}: `{command}`: no such make target"


@pytest.mark.parametrize("event", ["register-sqs.json", "register-eventbridge.json"])
def test_make_invoke_runs_the_registration_function_from_the_template(stack: LocalStack, event: str) -> None:
    # Given the local stack with its registration resources (named as local/stack.py resolves the template's)
    create_registration(stack)
    env = {**os.environ, **aws_env(stack.endpoint), "POWERTOOLS_TRACE_DISABLED": "true"}
    env.pop("TABLE_NAME", None)
    # When `make invoke FUNCTION=RegisterFunction EVENT=events/<event>` runs (the target's command)
    run = subprocess.run(
        [sys.executable, "-m", "local.invoke", f"events/{event}", "--function", "RegisterFunction"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Then the record is registered and nothing failed
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout[run.stdout.rindex("{\n") :]) == {"batchItemFailures": []}
    [record] = json.loads((ROOT / "events" / event).read_text())["Records"]
    body = json.loads(record["body"])
    detail = body.get("detail", body)
    [item] = [from_dynamo(i) for i in stack.client("dynamodb").scan(TableName=stack.table)["Items"]]
    assert item["request_id"] == detail["request_id"] and item["correlation"] == detail["correlation"]
