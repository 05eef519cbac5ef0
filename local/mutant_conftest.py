"""The conftest.py of a mutation stage (local/mutate.py copies it to the stage's root; it is not the suite's).

A mutant run (mutmut forks one per mutant and runs the tests that reach the mutated function, stopping at the first
failure) takes those tests fastest first, by the durations mutmut measured in its stats run: a mutant the tests
kill is then usually killed by a short test, before the slow ones start their servers. A survivor runs them all
either way. The tests are independent of their order (the suite also runs them spread over pytest-xdist workers).
"""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return  # the stats run, the forced failure, or no mutmut at all
    try:
        from mutmut.state import state  # filled by the stats run in the process each mutant run is forked from
    except ImportError:
        return
    durations = state().duration_by_test
    items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))
