"""Read template.yaml without AWS: CloudFormation tags, parameter defaults, conditions, local names."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from local.stack import LOCAL_NAMES, local_ref


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref X` into {"Ref": X} and `!Fn x` into {"Fn::Fn": x}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)
    return data


TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


@functools.cache
def _process_env(logical_id: str, path: Path) -> tuple[tuple[str, str], ...]:
    variables = load_template(path)["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
    return tuple((name, str(value)) for name, value in variables.items() if name.startswith("MALLOC_"))


def process_env(logical_id: str = "PollerFunction", path: Path = TEMPLATE) -> dict[str, str]:
    """The function's variables that the process, not config.py, reads (glibc's `MALLOC_*`), as the template sets
    them: a local process started with them behaves like the function's (they act only at process start)."""
    return dict(_process_env(logical_id, path))


class Resolver:
    """Resolves the intrinsic functions the function's properties use, with parameter defaults."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, str] | None = None) -> None:
        self.template = template
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
        self.parameters.update(parameters or {})

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.value(v) for v in node]
        if not isinstance(node, dict) or len(node) != 1:
            return node
        [(fn, arg)] = node.items()
        if fn == "Ref":
            if arg in self.parameters:
                return self.parameters[arg]
            if arg in LOCAL_NAMES:
                return local_ref(arg)
            return arg
        if fn == "Fn::If":
            return self.value(arg[1] if self.condition(arg[0]) else arg[2])
        if fn == "Fn::Equals":
            return str(self.value(arg[0])) == str(self.value(arg[1]))
        if fn == "Fn::Not":
            return not self.value(arg[0])
        if fn == "Fn::GetAtt":
            return LOCAL_NAMES.get(arg[0], arg[0])
        if fn == "Condition":
            return self.condition(arg)
        return node

    def function(self, logical_id: str) -> dict[str, Any]:
        resource = self.template["Resources"][logical_id]
        props = dict(self.template.get("Globals", {}).get("Function", {}))
        props.update(resource["Properties"])
        return props
