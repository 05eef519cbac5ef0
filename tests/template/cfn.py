"""The template as CloudFormation sees it after the SAM transform, and small lookups on it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform

from local.template import load_template

ROOT = Path(__file__).resolve().parents[2]

ACCOUNT_PARAMS = {
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "profile-poller",
    "AWS::URLSuffix": "amazonaws.com",
}


class NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def translate(stack_name: str = ACCOUNT_PARAMS["AWS::StackName"]) -> dict[str, Any]:
    """The SAM-translated template; `stack_name` lets a test tell names derived from the stack from fixed ones."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")  # the translator asks boto3 for a partition
    template = load_template(ROOT / "template.yaml")
    # as `sam package` does: local code paths become S3 URIs before the transform
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://artifacts/{logical_id}.zip"
    template["Resources"]["SharedLayer"]["Properties"]["ContentUri"] = "s3://artifacts/layer.zip"
    translated: dict[str, Any] = transform(
        template, {**ACCOUNT_PARAMS, "AWS::StackName": stack_name}, NoManagedPolicies()
    )
    return translated


def resources(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == kind}


def statements(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    role = cfn["Resources"]["PollerRole"]["Properties"]
    return {
        s["Sid"]: s
        for p in role["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        if isinstance(s, dict) and "Sid" in s
    }
