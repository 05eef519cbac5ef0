"""A task token never reaches a trace (issue 19): X-Ray's boto3 patch records only the request parameters its
whitelist names per service, and it names none of Step Functions' (nor EventBridge's, whose entries carry the
outcome). If a release of aws_xray_sdk adds them, this fails before a token lands in a trace."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path


def test_xrays_parameter_whitelist_records_nothing_of_step_functions_or_eventbridge() -> None:
    spec = importlib.util.find_spec("aws_xray_sdk")  # Powertools' Tracer uses it; it ships no type stubs
    assert spec is not None and spec.origin is not None
    whitelist = Path(spec.origin).parent / "ext/resources/aws_para_whitelist.json"
    services = json.loads(whitelist.read_text())["services"]
    assert not {"sfn", "states", "stepfunctions", "events", "eventbridge"} & set(services)
