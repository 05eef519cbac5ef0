"""The fixtures of this folder's tests: `world`, the IAM-enforcing moto server with one user per identity, started
once per session (one per xdist worker) and shared by every module here; `acting_as`, which points the process's AWS
environment at one identity."""

from tests.integration.iam_policies.world import acting_as, world

__all__ = ["acting_as", "world"]
