"""Every name the docs give an operator exists (issue 18, extending test_docs_commands.py): outputs, parameters,
alarms, environment variables, IAM actions and condition keys, the checkov skips, and the `aws` commands of the
runbook are ones the template or the code has and the operator's policy allows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local.template import load_template
from tests.integration.test_docs_commands import DOCS, ROOT, shown_commands

TEMPLATE_TEXT = (ROOT / "template.yaml").read_text()
TEMPLATE = load_template(ROOT / "template.yaml")
CODE = "\n".join(p.read_text() for p in sorted((ROOT / "layers/shared/profile_poller").rglob("*.py")))
CONFIG = (ROOT / "layers/shared/profile_poller/entry/config.py").read_text()
# actions the docs name as ones nobody of the stack holds (what the archive does not guarantee)
NAMED_AS_NOT_GRANTED = {"s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"}
IAM_NAME = re.compile(
    r"\b(?:dynamodb|s3|sns|sqs|kms|events|states|secretsmanager|logs|xray|cloudformation|sts):[A-Z]\w*\*?"
)


def doc_text() -> list[tuple[str, str]]:
    return [(doc.name, doc.read_text()) for doc in DOCS]


def named(pattern: str) -> set[tuple[str, str]]:
    """(doc, name) for every `code` span or <placeholder> of the docs that is exactly a name matching pattern."""
    found: set[tuple[str, str]] = set()
    for doc, text in doc_text():
        for token in re.findall(r"`([^`\n]+)`|<([A-Za-z][\w ]*)>", text):
            value = token[0] or token[1]
            if re.fullmatch(pattern, value):
                found.add((doc, value))
    return found


def test_every_output_the_docs_name_is_an_output_or_a_parameter() -> None:
    outputs, parameters = set(TEMPLATE["Outputs"]), set(TEMPLATE["Parameters"])
    property_keys = set(re.findall(r"^\s+(\w+):", TEMPLATE_TEXT, re.M))  # e.g. SAM's OmitName
    names = named(r"[A-Z][a-z]\w*(?:Arn|Url|Name)")
    assert len(names) >= 10
    missing = {(doc, n) for doc, n in names if n not in outputs | parameters | property_keys}
    assert missing == set()


def test_the_operations_runbook_asks_only_for_outputs_the_stack_gives() -> None:
    text = (ROOT / "docs/operations.md").read_text()
    # every <Placeholder> starting with a capital is a value to fill in from the stack (e.g. `<PollerFunctionName>`)
    placeholders = {p for p in re.findall(r"<([^<>\n]+)>", text) if p[0].isupper()}
    assert placeholders and placeholders <= set(TEMPLATE["Outputs"])


def deploy_table(header: str) -> list[list[str]]:
    text = (ROOT / "docs/deploy.md").read_text()
    start = text.index(header)
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_parameter_table_lists_exactly_the_templates_parameters_with_their_defaults() -> None:
    documented: dict[str, str] = {}
    for row in deploy_table("| parameter | default | meaning |"):
        names = re.findall(r"`(\w+)`", row[0])
        defaults = [d.strip() for d in row[1].split("/")]
        for name, default in zip(
            names, defaults if len(defaults) == len(names) else defaults * len(names), strict=True
        ):
            documented[name] = default
    assert set(documented) == set(TEMPLATE["Parameters"])
    for name, default in documented.items():
        actual = str(TEMPLATE["Parameters"][name].get("Default", ""))
        shown = default.replace("`", "")  # e.g. "0 (keep)", "-1 (off)", "empty"
        assert shown == actual or shown.startswith(f"{actual} (") or (actual == "" and shown == "empty"), (
            name,
            default,
            actual,
        )


def test_the_checkov_skip_table_lists_exactly_the_templates_skips() -> None:
    in_template = {
        (skip["id"], logical_id)
        for logical_id, resource in TEMPLATE["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    documented = {
        (row[0].split(" ")[0], resource.strip())
        for row in deploy_table("| check | resource | why |")
        for resource in row[1].split(",")
    }
    assert documented == in_template


def test_every_alarm_the_docs_name_is_one_the_template_declares() -> None:
    alarms = {k for k, v in TEMPLATE["Resources"].items() if v["Type"] == "AWS::CloudWatch::Alarm"}
    names = {n for _, n in named(r"[A-Z]\w+Alarm")}
    assert len(names) >= 10 and names <= alarms


def test_every_environment_variable_the_docs_name_is_read_by_the_code_or_set_by_the_template() -> None:
    set_by_template = {
        name
        for resource in TEMPLATE["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for name in resource["Properties"].get("Environment", {}).get("Variables", {})
    }
    text = (ROOT / "docs/configuration.md").read_text()
    table = [line for line in text.splitlines() if line.startswith("| `")]
    variables = {v for line in table for v in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1])}
    assert len(variables) >= 20
    for name in variables:
        assert f'"{name}"' in CONFIG or name in set_by_template, f"configuration.md: {name} is neither read nor set"
    # and every variable the template sets on a function is documented (Powertools' own: by Powertools)
    documented = "\n".join(t for _, t in doc_text())
    for name in set_by_template - {n for n in set_by_template if n.startswith("POWERTOOLS_")}:
        assert f"`{name}`" in documented, f"{name} is set by the template but named in no doc"


def test_every_iam_action_and_condition_key_the_docs_name_is_in_the_template() -> None:
    names = {(doc, m) for doc, text in doc_text() for m in IAM_NAME.findall(text)}
    assert len(names) >= 15
    missing = {(doc, n) for doc, n in names if n not in TEMPLATE_TEXT and n not in NAMED_AS_NOT_GRANTED}
    assert missing == set()
    for action in NAMED_AS_NOT_GRANTED:  # and those named as not granted are indeed granted to nobody
        assert action not in TEMPLATE_TEXT


def operator_actions() -> set[str]:
    statements = TEMPLATE["Resources"]["OperatorPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    actions: set[str] = set()
    for statement in statements:
        value: Any = statement["Action"]
        actions |= set(value if isinstance(value, list) else [value])
    return actions


def test_every_sqs_command_of_the_runbook_is_one_the_operator_policy_allows() -> None:
    commands = [c for _, c in shown_commands("aws sqs") if c.startswith("aws sqs ")]
    commands += re.findall(r"`(aws sqs [a-z-]+)[^`]*`", (ROOT / "docs/operations.md").read_text())
    assert commands
    for command in commands:
        operation = command.split()[2]
        action = "sqs:" + "".join(part.title() for part in operation.split("-"))
        assert action in operator_actions(), f"the runbook runs `{command}`, which OperatorPolicy does not allow"
    assert "purge" not in (ROOT / "docs/operations.md").read_text().replace("not purge", "")


@pytest.mark.parametrize("doc", [d for d in DOCS if "aws lambda invoke" in d.read_text()], ids=lambda d: d.name)
def test_the_poller_is_invoked_by_hand_asynchronously(doc: Path) -> None:
    # a synchronous invoke of a 900 s function outlasts the CLI's 60 s read timeout, and the CLI invokes it again
    for command in re.findall(r"aws lambda invoke[^`\n]*", doc.read_text()):
        assert "--invocation-type Event" in command, command


def test_the_python_entry_points_the_docs_name_exist() -> None:
    for _, text in doc_text():
        for dotted in re.findall(r"`(profile_poller(?:\.\w+)+)\(", text):
            module, _, function = dotted.rpartition(".")
            path = ROOT / "layers/shared" / (module.replace(".", "/") + ".py")
            assert path.is_file() and f"def {function}(" in path.read_text(), dotted
    assert "def register(" in CODE
