"""`make mutate`: mutation testing with mutmut of the core, the adapters and the entry side (a figure, not a test).

The package is cut into groups (GROUPS): each group's files are mutated against the tests that exercise them, the
core against the fast unit tests, each adapter and entry module against its own unit and integration tests (these
start their own servers: moto, dynalite, the API simulator, asyncssh). mutmut 3 names a mutant after its file's
path and strips only a `src/` prefix, so each group is staged as `.mutate/<group>/src/profile_poller` next to copies
of `tests/`, `local/`, `events/` and `functions/`, with a pyproject.toml of its own; mutmut then runs there. Groups
run side by side (`--parallel`), each with `--jobs` mutant runs at once, and, if its tests use one, a dynalite per
job that its mutant runs share (local/mutant_conftest.py). `--only adapters/sns.py` (a module, a group or an area;
repeatable) mutates a subset.

Timeouts count as killed (the mutant did not get through); "no tests" count as survived. Every survivor is printed;
docs/reliability.md says why each is accepted. The last line is
`mutate: mutants=N killed=K survived=S score=… core=… adapters=… entry=…` (an area not run shows `-`).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from local.dynalite import dynalite_server, node_available
from local.mutant_conftest import SLOTS_VARIABLE
from local.mutate_groups import GROUPS, Group

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / ".mutate"
AREAS = ("core", "adapters", "entry")
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
# pytest plugins a mutant run does without: unraisableexception forces two full garbage collections as each session
# ends (two thirds of a short mutant run's 0.19 CPU s, measured in a forked run as mutmut makes them)
PYTEST_PLUGINS_OFF = ("-p no:cacheprovider", "-p no:unraisableexception")
STAGED_DIRS = ("local/", "events/", "examples/", "functions/", "docs/")
# unit tests not staged: they run outside the staged package, so no mutant can reach them
# (test_cold_import.py imports the handler from functions/poller in a fresh interpreter)
NOT_STAGED = ("test_cold_import.py",)
# the groups that cost the most CPU (the last full run's `CPU s`), started first so a small group, not a large one,
# is what runs last
LONGEST_FIRST = ("core", "cli", "dynamodb", "sftp", "campaign_api")


def unmutated() -> list[str]:
    """Modules of adapters/ and entry/ that define a function or class (mutmut mutates only those) and that no group
    mutates."""
    package = ROOT / "layers/shared/profile_poller"
    grouped = {module for group in GROUPS for module in group.modules}
    return [
        module
        for area in ("adapters", "entry")
        for path in sorted((package / area).rglob("*.py"))
        if (module := path.relative_to(package).as_posix()) not in grouped
        and any(isinstance(node, (ast.FunctionDef, ast.ClassDef)) for node in ast.parse(path.read_text()).body)
    ]


def pyproject(group: Group, timeout_multiplier: float) -> str:
    modules = [f"src/profile_poller/{module}" for module in group.modules]
    return f"""\
[tool.pytest.ini_options]
testpaths = {json.dumps(list(group.tests))}
pythonpath = [".", "functions/poller"]
addopts = {json.dumps(" ".join([*PYTEST_PLUGINS_OFF, *(f"--deselect={test}" for test in group.deselect)]))}
markers = ["env(**variables): function environment overrides for the handler_ticks fixture"]
filterwarnings = ["ignore:No application metrics to publish:UserWarning"]

[tool.mutmut]
source_paths = ["src/profile_poller"]
only_mutate = {json.dumps(modules)}
pytest_add_cli_args_test_selection = {json.dumps(list(group.tests))}
also_copy = {json.dumps(["conftest.py", *STAGED_DIRS, "README.md", "Makefile", "template.yaml"])}
use_git_change_detection = false
timeout_multiplier = {timeout_multiplier}
# a mutant mypy --strict refuses (CI would) is "caught by type check": one mypy run instead of a test run each
type_check_command = {json.dumps([sys.executable, "-m", "mypy", "-O", "json", "-p", "profile_poller"])}
# log calls (wording, extra fields, level) are not mutated: see "Mutation testing" in docs/reliability.md
do_not_mutate_patterns = ['\\blogger\\.', '^\\s*log\\(']

[tool.mypy]
python_version = "3.11"
strict = true
mypy_path = ["src"]
explicit_package_bases = true
cache_dir = ".mypy_cache"
# artefacts of mutmut's copies, not of a mutation: each copy of a method re-declares the attributes it annotates,
# and the trampolines carry `type: ignore` comments mypy may find unused
disable_error_code = ["no-redef", "has-type"]
warn_unused_ignores = false

[[tool.mypy.overrides]]
module = ["moto.*"]
ignore_missing_imports = true
"""


def stage(group: Group, timeout_multiplier: float) -> Path:
    """A fresh copy of what the group's tests need, laid out as mutmut expects."""
    where = STAGE / group.name
    shutil.rmtree(where, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    shutil.copytree(ROOT / "layers/shared/profile_poller", where / "src/profile_poller", ignore=ignore)
    shutil.copytree(
        ROOT / "local", where / "local", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules")
    )
    dynalite = ROOT / "local/dynalite/node_modules"
    if dynalite.is_dir():  # installed once by `make dynalite`; not copied into every stage
        (where / "local/dynalite/node_modules").symlink_to(dynalite, target_is_directory=True)
    shutil.copytree(ROOT / "events", where / "events")
    shutil.copytree(ROOT / "examples", where / "examples", ignore=ignore)  # the waiting workflow's definition
    shutil.copytree(ROOT / "functions", where / "functions", ignore=ignore)
    shutil.copytree(ROOT / "docs", where / "docs")  # test_docs_commands runs what the docs say
    for name in ("README.md", "Makefile"):  # ... and what the README says, and its make targets
        shutil.copy2(ROOT / name, where / name)
    shutil.copy2(ROOT / "template.yaml", where / "template.yaml")  # local/registration reads the queue settings
    shutil.copytree(ROOT / "tests", where / "tests", ignore=shutil.ignore_patterns(*ignore_names()))
    shutil.copy2(ROOT / "local/mutant_conftest.py", where / "conftest.py")  # the tests a mutant reaches, fastest first
    (where / "pyproject.toml").write_text(pyproject(group, timeout_multiplier))
    return where


def ignore_names() -> tuple[str, ...]:
    return ("__pycache__", "*.pyc", ".pytest_cache", "template", "chaos", *NOT_STAGED)


def statuses(where: Path) -> dict[str, str]:
    """Every mutant's status, as `mutmut results --all true` prints them (`    name: status`)."""
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=where,
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


def area_of(mutant: str) -> str:
    """`profile_poller.adapters.sns.x…` -> adapters"""
    parts = mutant.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in AREAS else "core"


def select(only: list[str]) -> list[Group]:
    """The groups to run, narrowed to the modules named (`adapters/sns.py`), or whole groups or areas."""
    if not only:
        return list(GROUPS)
    chosen: list[Group] = []
    for wanted in only:
        key = wanted.strip().removeprefix("layers/shared/profile_poller/").removeprefix("profile_poller/")
        if key in AREAS:
            picked = [
                replace(g, name=f"{g.name}-{key}", modules=mods)
                for g in GROUPS
                if (mods := tuple(m for m in g.modules if m.startswith(f"{key}/")))
            ]
        else:
            picked = [g for g in GROUPS if g.name == key] or [
                replace(g, name=f"{g.name}-{Path(key).stem}", modules=(key,)) for g in GROUPS if key in g.modules
            ]
        if not picked:
            known = ", ".join([*AREAS, *(g.name for g in GROUPS), *(m for g in GROUPS for m in g.modules)])
            raise SystemExit(f"mutate: --only {wanted!r} names no area, group or module; one of: {known}")
        chosen.extend(p for p in picked if p not in chosen)
    return chosen


@dataclass(frozen=True)
class RunCosts:
    """What a group's mutant runs cost, from the line each writes as it ends (local/mutant_conftest.py RUNS): the
    runs that killed their mutant and those that did not (each runs all the tests that reach its function)."""

    killed: int = 0
    killed_cpu: float = 0.0
    survived: int = 0
    survived_cpu: float = 0.0

    @classmethod
    def read(cls, runs: Path) -> RunCosts:
        killed, killed_cpu, survived, survived_cpu = 0, 0.0, 0, 0.0
        lines = runs.read_text().splitlines() if runs.exists() else []
        for line in lines:
            _, status, own, servers, _ = line.split("\t")
            cpu = float(own) + float(servers)
            if status == "0":
                survived, survived_cpu = survived + 1, survived_cpu + cpu
            else:
                killed, killed_cpu = killed + 1, killed_cpu + cpu
        return cls(killed, killed_cpu, survived, survived_cpu)

    def __add__(self, other: RunCosts) -> RunCosts:
        return RunCosts(
            self.killed + other.killed,
            self.killed_cpu + other.killed_cpu,
            self.survived + other.survived,
            self.survived_cpu + other.survived_cpu,
        )

    def __str__(self) -> str:
        return (
            f"{self.killed} mutant runs that killed in {self.killed_cpu:.0f} CPU s, "
            f"{self.survived} that did not in {self.survived_cpu:.0f} CPU s"
        )


@dataclass
class Run:
    group: Group
    found: dict[str, str]
    seconds: float
    cpu_seconds: float = 0.0  # mutmut's and every mutant run's CPU (user + system): the work, whatever the load
    error: str | None = None
    costs: RunCosts = RunCosts()


def uses_dynalite(group: Group) -> bool:
    """Whether a test file of the group names dynalite or the `table_stack` fixture that starts it
    (tests/conftest.py)."""
    for test in group.tests:
        path = ROOT / test
        for file in sorted(path.rglob("test_*.py")) if path.is_dir() else [path]:
            if "dynalite" in (text := file.read_text()) or "table_stack" in text:
                return True
    return False


@contextmanager
def dynalite_slots(count: int) -> Iterator[list[str]]:
    """A dynalite per mutant run at a time, for the group's runs to share (local/mutant_conftest.py takes a free
    one for each run); none without Node (the tests skip their dynalite half then)."""
    if not node_available() or count == 0:
        yield []
        return
    with ExitStack() as servers:
        yield [servers.enter_context(dynalite_server()) for _ in range(count)]


def run_group(group: Group, jobs: int, quiet: bool, timeout_multiplier: float) -> Run:
    started = time.monotonic()
    where = stage(group, timeout_multiplier)
    log = where / "mutmut.log"
    with open(log, "w") as out, dynalite_slots(jobs if uses_dynalite(group) else 0) as slots:
        proc = subprocess.Popen(
            [sys.executable, "-m", "local.mutmut_run", "run", "--max-children", str(jobs)],
            cwd=where,
            stdout=out if quiet else None,
            stderr=subprocess.STDOUT if quiet else None,
            env={**os.environ, SLOTS_VARIABLE: " ".join(slots)},
        )
        # wait4: the CPU of mutmut and of every mutant run it forked and reaped (per group, though groups run in
        # threads of this one process)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    took = time.monotonic() - started
    cpu = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        return Run(group, {}, took, cpu, f"mutmut run failed with exit code {proc.returncode} (see {log})")
    found = statuses(where)
    if not found:
        return Run(group, {}, took, cpu, f"mutmut reported no mutants (see {log})")
    costs = RunCosts.read(where / "mutants/runs.tsv")  # where mutmut runs the tests, beside its copy of conftest.py
    # as each group ends, so a run stopped before the last one still leaves its figures
    print(
        f"mutate: {group.name} done: {len(found)} mutants in {took:.0f} s ({cpu:.0f} CPU s), score {score(found)}; "
        f"{costs}",
        flush=True,
    )
    return Run(group, found, took, cpu, costs=costs)


def score(found: dict[str, str]) -> str:
    if not found:
        return "-"
    killed = sum(1 for status in found.values() if status in KILLED)
    return f"{killed / len(found):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="a module (adapters/sns.py), group or area")
    # four groups at once: the three that cost the most CPU, and the SFTP group, whose tests mostly wait for a silent
    # server's timeout (168 CPU s in 531 s): with three at once it started only when the cli group ended and ran on
    # with the CPU half idle, the full run ending 71 s after it
    parser.add_argument("--parallel", type=int, default=4, help="groups run at once")
    # the integration tests wait on their servers more than they compute: more mutant runs than cores pay off
    # (adapters/sns.py, 86 mutants: 127 s with 2, 41 s with 4 on a shared machine)
    parser.add_argument("--jobs", type=int, default=3, help="mutant runs at once within a group")
    parser.add_argument("--timeout-multiplier", type=float, default=8.0, help="mutmut's, over each test's time")
    parser.add_argument("--quiet", action="store_true", help="mutmut's own output to .mutate/<group>/mutmut.log")
    args = parser.parse_args()
    groups = sorted(select(args.only), key=lambda g: LONGEST_FIRST.index(g.name) if g.name in LONGEST_FIRST else 99)
    if missing := unmutated():
        print(f"mutate: in no group (not mutated): {', '.join(missing)}", file=sys.stderr)
    STAGE.mkdir(exist_ok=True)
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = before.ru_utime + before.ru_stime
    quiet = args.quiet or args.parallel > 1  # interleaved progress bars say nothing
    with ThreadPoolExecutor(max(1, args.parallel)) as pool:
        runs = list(pool.map(lambda g: run_group(g, max(1, args.jobs), quiet, args.timeout_multiplier), groups))
    failed = [r for r in runs if r.error]
    for r in failed:
        print(f"mutate: {r.group.name}: {r.error}", file=sys.stderr)
    found = {name: status for r in runs for name, status in r.found.items()}
    if failed or not found:
        return 1
    for r in runs:
        by_status = dict(Counter(r.found.values()))
        print(
            f"mutate: {r.group.name}: {len(r.found)} mutants in {r.seconds:.0f} s ({r.cpu_seconds:.0f} CPU s), "
            f"score {score(r.found)}; {by_status}"
        )
        for module in r.group.modules:
            dotted = "profile_poller." + module.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
            mine = {n: s for n, s in r.found.items() if n.startswith(dotted + ".x")}
            print(f"mutate:   {module}: {len(mine)} mutants, score {score(mine)}")
    survivors = sorted(name for name, status in found.items() if status not in KILLED)
    for name in survivors:
        print(f"mutate: survived ({found[name]}): {name}")
    if survivors:
        print(f"mutate: to see one: cd .mutate/<group> && {sys.executable} -m mutmut show NAME")
    by_area = {area: {n: s for n, s in found.items() if area_of(n) == area} for area in AREAS}
    total, killed = len(found), len(found) - len(survivors)
    # every process this run started and reaped: mutmut and its mutant runs, the shared dynalite servers, mutmut's
    # result listings
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = children.ru_utime + children.ru_stime - cpu_before
    costs = sum((r.costs for r in runs), RunCosts())
    rest = cpu - costs.killed_cpu - costs.survived_cpu
    print(
        f"mutate: {costs}; the rest, {rest:.0f} CPU s: each group's start (mutants, mypy, stats run), "
        "the shared dynalites, runs mutmut itself stopped (its CPU limit)"
    )
    print(
        f"mutate: {total} mutants in {time.monotonic() - started:.0f} s, {cpu:.0f} CPU s "
        f"(/ {os.cpu_count()} cores = {cpu / (os.cpu_count() or 1):.0f} s at best); "
        f"score {killed / total:.3f} (goal >= 0.9)"
    )
    areas = " ".join(f"{area}={score(by_area[area])}" for area in AREAS)
    print(f"mutate: mutants={total} killed={killed} survived={len(survivors)} score={killed / total:.3f} {areas}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
