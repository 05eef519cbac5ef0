"""docs/operations.md's CLI reference is what `profile-poller --help` and each command's `--help` print, word for
word: a flag, a choice or a help text changed in the code shows up here until the docs say the same (line
wrapping aside: argparse wraps by the terminal's width and the Python version)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from profile_poller.entry.cli import main

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
COMMANDS = ("", "register", "show", "list", "retry", "republish", "stats")


def documented() -> dict[str, str]:
    """`$ profile-poller … --help` -> what the docs show it prints."""
    block = OPERATIONS.read_text().split("### Reference: `--help`", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    parts = re.split(r"^\$ profile-poller (.*)--help\n", block, flags=re.MULTILINE)
    return {command.strip(): text for command, text in zip(parts[1::2], parts[2::2], strict=True)}


def words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c or "profile-poller")
def test_each_commands_help_is_documented_word_for_word(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the reference in docs/operations.md
    docs = documented()
    # When the command prints its help
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_:
        main([*command.split(), "--help"])
    # Then it exits 0 and says exactly what the docs say it says
    assert exit_.value.code == 0
    assert words(capsys.readouterr().out) == words(docs[command])


def test_the_reference_covers_every_command_and_nothing_else() -> None:
    assert sorted(documented()) == sorted(COMMANDS)
