"""`make invoke EVENT=events/schedule.json`: `sam local invoke` without Docker.

Reads the function's Handler, CodeUri, Layers and Environment from template.yaml, puts CodeUri and the layers'
ContentUri on sys.path, and calls the handler in-process with a Lambda context. AWS calls go to
AWS_ENDPOINT_URL (a moto server: `make local-stack` starts one with the stack and the API simulator).
Variables already set in your environment override the template's values, like `sam local invoke --env-vars`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path

from local.context import LambdaContext
from local.template import Resolver, load_template

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event", type=Path, help="event JSON file, e.g. events/schedule.json")
    parser.add_argument("--function", default="PollerFunction", help="logical id in template.yaml")
    args = parser.parse_args(argv)
    if not os.environ.get("AWS_ENDPOINT_URL"):
        print(
            "invoke: AWS_ENDPOINT_URL is not set. Start `make local-stack` and export what it prints,\n"
            "or point it at any moto server holding the stack's resources.",
            file=sys.stderr,
        )
        return 2
    resolver = Resolver(load_template(ROOT / "template.yaml"))
    props = resolver.function(args.function)
    template_env = {k: str(resolver.value(v)) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
    for name, value in template_env.items():
        os.environ.setdefault(name, value)
    paths = [ROOT / str(props["CodeUri"])]
    for layer in props.get("Layers", []):
        layer_id = layer["Ref"] if isinstance(layer, dict) else layer
        paths.append(ROOT / str(resolver.template["Resources"][layer_id]["Properties"]["ContentUri"]))
    sys.path[:0] = [str(p) for p in paths]
    module_name, function_name = str(props["Handler"]).rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), function_name)
    event = json.loads(args.event.read_text())
    context = LambdaContext(
        timeout_ms=int(resolver.value(props.get("Timeout", 3))) * 1000,
        memory_limit_in_mb=int(resolver.value(props.get("MemorySize", 128))),
    )
    result = handler(event, context)
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
