from __future__ import annotations

from typing import Any

import pytest

from tests.template.cfn import translate


@pytest.fixture(scope="session")
def cfn() -> dict[str, Any]:
    return translate()
