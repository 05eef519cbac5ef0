"""`python -m local.mutmut_run run …`: mutmut 3.8.1's command line (pinned exactly in pyproject.toml), with two of the
steps of `mutmut run` made cheaper; local/mutate.py runs each group with it.

- Mapping the type checker's errors to mutants: mutmut parses every mutated file with libcst and a position provider
  to find the line span of each mutant's function, then scans that list for every error. For the core group (26
  files, 4,500 mutants mypy refuses) that took 45 of the step's 53 s, mypy itself 8. Python's own parser gives the same
  spans (a function from its `def` to its last line, as libcst counts them) in a fraction of it.
- The "clean tests" run: mutmut runs the group's tests once to collect its stats (which test reaches which
  function) and stops if any fails, then runs the same tests again, unmutated, before the first mutant. With stats
  collected in this same process the second run only repeats the first (12 s of the core group's start, 32 s of the
  SFTP group's), so it is skipped; with stats loaded from an earlier run in the stage, it runs as before.

As it exits it writes mutmut's own CPU (the stats run, mutant generation, the parent of every mutant run) to stderr:
the group's `mutmut.log`.
"""

from __future__ import annotations

import ast
import atexit
import bisect
import resource
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mutmut import __main__ as mutmut_main
from mutmut.configuration import config
from mutmut.mutation.file_mutation import FailedTypeCheckMutant, MutatedMethodLocation
from mutmut.type_checking import run_type_checker
from mutmut.utils.file_utils import change_cwd
from mutmut.utils.format_utils import get_mutant_name, is_mutated_method_name
from mutmut.workers.isolation import ForkRunner, ForkServerRunner, MutantRunner


def mutated_functions(path: Path, source: str) -> list[MutatedMethodLocation]:
    """The mutants' functions of a mutated file, in line order: module level and in classes, not nested in
    functions (mutmut never nests them)."""
    found: list[MutatedMethodLocation] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if is_mutated_method_name(node.name):
                    end = node.end_lineno or node.lineno
                    found.append(MutatedMethodLocation(path, node.name, node.lineno, end))
            elif isinstance(node, ast.ClassDef):
                visit(node.body)

    visit(ast.parse(source).body)
    return sorted(found, key=lambda location: location.line_number_start)


def filter_mutants_with_type_checker() -> dict[str, FailedTypeCheckMutant]:
    """mutmut's step of that name, with the same result: each mutant whose function holds a type error."""
    with change_cwd(Path("mutants")):
        errors_by_path = defaultdict(list)
        for error in run_type_checker(config().type_check_command):
            errors_by_path[error.file_path].append(error)
        refused: dict[str, FailedTypeCheckMutant] = {}
        for path, errors in errors_by_path.items():
            functions = mutated_functions(path, path.read_text(encoding="utf-8"))
            if not functions:
                continue  # an error outside any mutated file's mutants: mutmut ignores such files too
            starts = [function.line_number_start for function in functions]
            for error in errors:
                at = bisect.bisect_right(starts, error.line_number) - 1
                if at < 0 or error.line_number > functions[at].line_number_end:
                    raise RuntimeError(
                        f"a type error outside every mutant, {error.file_path}:{error.line_number} "
                        f"({error.error_description}): the unmutated code must pass mypy --strict"
                    )
                function = functions[at]
                name = get_mutant_name(path.relative_to(Path(".").absolute()), function.function_name)
                refused[name] = FailedTypeCheckMutant(method_location=function, name=name, error=error)
        return refused


_stats_passed_here = False


def _skip_a_repeated_clean_run(runner: type[MutantRunner]) -> None:
    collect, clean = runner.collect_stats, runner.run_clean_tests

    def collect_stats(self: MutantRunner, tests: Iterable[str] | None) -> int:
        global _stats_passed_here
        exit_code = collect(self, tests)
        _stats_passed_here = exit_code == 0 and not tests  # none named: every test of the selection
        return exit_code

    def run_clean_tests(self: MutantRunner, tests: Iterable[str]) -> int:
        if _stats_passed_here:
            return 0  # the stats run, in this process, just ran them all unmutated, and they passed
        return clean(self, tests)

    runner.collect_stats = collect_stats  # type: ignore[method-assign]
    runner.run_clean_tests = run_clean_tests  # type: ignore[method-assign]


def _own_cpu() -> None:
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(f"mutmut_run: mutmut's own CPU {own.ru_utime + own.ru_stime:.1f} s", file=sys.stderr, flush=True)


def main() -> Any:
    atexit.register(_own_cpu)
    mutmut_main.filter_mutants_with_type_checker = filter_mutants_with_type_checker  # type: ignore[attr-defined]
    for runner in (ForkRunner, ForkServerRunner):  # the default process_isolation ("fork") and the other
        _skip_a_repeated_clean_run(runner)
    return mutmut_main.cli()


if __name__ == "__main__":
    main()
