"""The enforcing server checks every call, and every identity the template renders has its tests in this folder."""

from __future__ import annotations

import dataclasses

import pytest
from botocore.exceptions import ClientError

from local.policies import LocalArns, rendered_policies
from tests.integration.iam_policies.world import IDENTITIES, World


def test_the_enforcing_server_refuses_an_unknown_key(world: World) -> None:
    # the other tests' "allowed" mean something only if moto checks at all
    stranger = dataclasses.replace(world.as_["admin"], credentials=("AKIAUNKNOWN000000000", "x" * 40))
    with pytest.raises(ClientError):
        stranger.client("dynamodb").describe_table(TableName=stranger.table)


def test_every_identity_of_the_template_is_tested_here() -> None:
    arns = LocalArns("t", "b", "arn:aws:sns:eu-west-1:123456789012:t", "arn:aws:secretsmanager:eu-west-1:1:secret:s")
    assert set(rendered_policies(arns)) == set(IDENTITIES)
