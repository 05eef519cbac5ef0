"""Deployment traps (issue 12), the parameters: each constraint refuses a value that would break the deploy or
the runtime, accepts the good ones, and every default passes its own constraints."""

from __future__ import annotations

import re
from typing import Any

import pytest


def accepts(spec: dict[str, Any], value: str) -> bool:
    """Whether CloudFormation lets `value` through the parameter's constraints (patterns are whole-value matches)."""
    if spec["Type"] == "Number":
        try:
            number = float(value)
        except ValueError:
            return False
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return False
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return False
    elif "AllowedPattern" in spec and re.fullmatch(spec["AllowedPattern"], value) is None:
        return False
    allowed = spec.get("AllowedValues")
    return allowed is None or value in {str(v) for v in allowed}


SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:campaign/api-key"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
REFUSED = {
    "ExistingSecretArn": [
        SECRET_ARN,  # partial: IAM would then deny GetSecretValue on the full ARN
        "campaign/api-key",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:",
        f"{SECRET_ARN}-AbC12",
    ],
    "ExistingSecretKmsKeyArn": [
        "alias/campaign",
        "arn:aws:kms:eu-west-1:123456789012:alias/campaign",
        KEY_ID,
        f"arn:aws:kms:eu-west-1:123456789012:key/{KEY_ID[:-1]}",
    ],
    "ReservedConcurrency": ["0", "-2", "2.5", "", "ten"],
    "AlarmEmail": [
        "ops",
        "ops@",
        "ops@example",
        "ops @example.com",
        "ops@example.com,dev@example.com",
        "<ops@example.com>",
    ],
}
ACCEPTED = {
    "ExistingSecretArn": [
        "",
        f"{SECRET_ARN}-AbC123",
        "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:k-x1Y2z3",
    ],
    "ExistingSecretKmsKeyArn": [
        "",
        f"arn:aws:kms:eu-west-1:123456789012:key/{KEY_ID}",
        "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
    ],
    "ReservedConcurrency": ["-1", "1", "10", "1000"],
    "AlarmEmail": ["", "ops@example.com", "first.last+alerts@mail.example.co.uk"],
}


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in REFUSED.items() for v in values])
def test_parameter_refuses_a_value_that_breaks_the_deploy_or_the_runtime(
    cfn: dict[str, Any], name: str, value: str
) -> None:
    spec = cfn["Parameters"][name]
    assert not accepts(spec, value)
    assert spec.get("ConstraintDescription")  # the console and CLI say why, not just "malformed"


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, values in ACCEPTED.items() for v in values])
def test_parameter_accepts_a_good_value(cfn: dict[str, Any], name: str, value: str) -> None:
    assert accepts(cfn["Parameters"][name], value)


def test_every_parameter_default_passes_its_own_constraints(cfn: dict[str, Any]) -> None:
    for name, spec in cfn["Parameters"].items():
        assert accepts(spec, str(spec.get("Default", ""))), name


def test_reserved_concurrency_minus_one_means_unreserved(cfn: dict[str, Any]) -> None:
    assert cfn["Conditions"]["HasReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, "-1"]}]
    }
