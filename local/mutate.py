"""`make mutate`: mutation testing of the core with mutmut, against the fast unit tests only (a figure, not a test).

mutmut 3 names a mutant after its file's path and strips only a `src/` prefix, so the package is staged as
`.mutate/src/profile_poller` next to copies of `tests/` (conftest, fakes, unit) and `local/` (imported by the
conftest), with a pyproject.toml of its own; mutmut then runs there. The last line printed is
`mutate: mutants=N killed=K survived=S score=K/N` (timeouts count as killed: the mutant did not get through;
"no tests" count as survived). Every survivor is listed above it; docs/reliability.md says why each is accepted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / ".mutate"
CORE = (
    # the classifier, the error-file parser, pacing and the tenant throttle, the sweep (split into sweep, asking,
    # settle, schedule and its time budget), the outcome logic, the file copy and its sources, the message contract,
    # the item, settings and bounds
    "classify",
    "errorfile",
    "pacing",
    "throttle",
    "sweep",
    "asking",
    "settle",
    "schedule",
    "budget",
    "outcomes",
    "completion",
    "copier",
    "copygate",
    "sources",
    "message",
    "model",
    "items",
    "settings",
    "bounds",
    "shards",
)
MUTATED = [f"src/profile_poller/core/{name}.py" for name in CORE] + ["src/profile_poller/entry/config.py"]
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
# unit tests not staged: they run outside the staged package, so no mutant can reach them
# (test_cold_import.py imports the handler from functions/poller in a fresh interpreter)
NOT_STAGED = ("test_cold_import.py",)

PYPROJECT = f"""\
[tool.pytest.ini_options]
testpaths = ["tests/unit"]
pythonpath = ["."]
addopts = "-p no:cacheprovider"
markers = ["env(**variables): function environment overrides for the handler_ticks fixture"]

[tool.mutmut]
source_paths = ["src/profile_poller"]
only_mutate = {json.dumps(MUTATED)}
pytest_add_cli_args_test_selection = ["tests/unit"]
also_copy = ["local/", "events/"]
use_git_change_detection = false
# log calls (wording, extra fields, level) are not mutated: see "Mutation testing" in docs/reliability.md
do_not_mutate_patterns = ['\\blogger\\.', '^\\s*log\\(']
"""


def stage() -> None:
    """A fresh copy of what the unit tests need, laid out as mutmut expects."""
    shutil.rmtree(STAGE, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "layers/shared/profile_poller", STAGE / "src/profile_poller", ignore=ignore)
    shutil.copytree(ROOT / "local", STAGE / "local", ignore=ignore)
    shutil.copytree(ROOT / "events", STAGE / "events")
    (STAGE / "tests").mkdir()
    for name in ("__init__.py", "conftest.py", "fakes.py"):
        shutil.copy2(ROOT / "tests" / name, STAGE / "tests" / name)
    shutil.copytree(
        ROOT / "tests/unit", STAGE / "tests/unit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *NOT_STAGED)
    )
    (STAGE / "pyproject.toml").write_text(PYPROJECT)


def statuses() -> dict[str, str]:
    """Every mutant's status, as `mutmut results --all true` prints them (`    name: status`)."""
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=STAGE,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            found[name] = status
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallel mutant runs")
    parser.add_argument("--quiet", action="store_true", help="hide mutmut's own output")
    args = parser.parse_args()
    stage()
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.jobs)],
        cwd=STAGE,
        capture_output=args.quiet,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        print(f"mutate: mutmut run failed with exit code {run.returncode}", file=sys.stderr)
        if args.quiet:
            print(run.stdout[-4000:], run.stderr[-4000:], sep="\n", file=sys.stderr)
        return 1
    found = statuses()
    if not found:
        print("mutate: mutmut reported no mutants", file=sys.stderr)
        return 1
    by_status = Counter(found.values())
    survivors = sorted(name for name, status in found.items() if status not in KILLED)
    print(f"mutate: {len(found)} mutants in {time.monotonic() - started:.0f} s; by status: {dict(by_status)}")
    for name in survivors:
        print(f"mutate: survived ({found[name]}): {name}")
    if survivors:
        print(f"mutate: to see one: cd .mutate && {sys.executable} -m mutmut show NAME")
    total = len(found)
    killed = total - len(survivors)
    print(f"mutate: score {killed / total:.3f} (goal >= 0.9)")
    print(f"mutate: mutants={total} killed={killed} survived={len(survivors)} score={killed}/{total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
