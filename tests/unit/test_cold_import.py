"""The handler's cold import loads what a sweep of pending checks needs and nothing else (issue 8 point 3).

Not a timer: `import app` runs in a fresh interpreter and the test asserts which modules it left out of
`sys.modules`. The import time itself is a bench figure (`import_ratio`, docs/performance.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# loaded only when a sweep meets what needs them: an SFTP file, an error file, an outcome to publish, a secret
# with an sftp section; or never by the poller (the CLI, the registration function, Powertools Parameters)
LAZY = (
    "paramiko",
    "profile_poller.adapters.sftp",
    "profile_poller.adapters.sftp_session",
    "profile_poller.adapters.sftp_secret",
    "profile_poller.core.errorfile",
    "profile_poller.core.message",
    "profile_poller.core.registration",
    "profile_poller.entry.cli",
    "profile_poller.entry.register",
    "profile_poller.entry.producer",
    "aws_lambda_powertools.utilities.parameters",
    "csv",
)


def modules_after(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "functions/poller"), str(ROOT / "layers/shared")])}
    program = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", program], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_the_handler_import_leaves_out_what_a_sweep_of_pending_checks_does_not_need() -> None:
    # When the handler module is imported cold
    loaded = modules_after("import app")
    # Then the sweep's own modules are there (the import did happen) and none of the lazy ones
    assert {"app", "profile_poller.core.sweep", "profile_poller.adapters.dynamodb"} <= loaded
    assert sorted(name for name in LAZY if name in loaded) == []


def test_the_lazy_paths_load_their_modules_when_taken() -> None:
    # Given the handler imported cold, When an error file is met and a secret with an sftp section is read
    loaded = modules_after(
        "import app\n"
        "from profile_poller.core.copier import _error_file_parser\n"
        "from profile_poller.adapters.secrets import parse_secret\n"
        "from profile_poller.core.ports import CredentialsError\n"
        "_error_file_parser()\n"
        "try:\n"
        '    parse_secret(\'{"api_key": "k", "sftp": {}}\', \'https://t.example\', False)\n'
        "except CredentialsError:\n"
        "    pass\n"
    )
    # Then their modules load there (and the names in LAZY are the modules that do the work)
    assert {"profile_poller.core.errorfile", "csv", "profile_poller.adapters.sftp_secret"} <= loaded
