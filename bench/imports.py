"""The handler's cold import against its floor: `python -m bench.imports [RUNS]` (make bench runs it with 7).

The floor is `import boto3, requests` and Powertools' Logger, Metrics and Tracer, which any Powertools handler
pays; the handler is `import app`. As in Lambda, every module comes with the bytecode the layer ships:
layers/shared/Makefile compiles the whole layer (dependencies and package) to unchecked-hash .pyc files, because
/opt is read-only and nothing can be cached there at run time. So the bench imports a copy of the package compiled
the same way (the dependencies' bytecode is the virtualenv's) and writes none. Each import runs in a fresh
interpreter, floor and handler interleaved; the ratio is of the medians of CPU time (the import is CPU-bound; wall
time on a shared 2-core machine mostly measures the wait for a core). Wall-time medians are printed beside it.
"""

from __future__ import annotations

import compileall
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "import boto3, requests\nfrom aws_lambda_powertools import Logger, Metrics, Tracer"
PROGRAM = (
    "import time\nw, c = time.perf_counter(), time.process_time()\n{code}\n"
    "print(time.perf_counter() - w, time.process_time() - c)"
)


def import_ratio(runs: int = 7) -> float:
    with tempfile.TemporaryDirectory(prefix="import-ratio-") as tmp:
        no_pyc = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(ROOT / "layers/shared/profile_poller", Path(tmp, "profile_poller"), ignore=no_pyc)
        shutil.copy(ROOT / "functions/poller/app.py", tmp)
        unchecked = py_compile.PycInvalidationMode.UNCHECKED_HASH  # as layers/shared/Makefile builds the layer
        compileall.compile_dir(Path(tmp, "profile_poller"), quiet=1, invalidation_mode=unchecked)
        env = {**os.environ, "PYTHONPATH": tmp, "PYTHONDONTWRITEBYTECODE": "1"}

        def timed(code: str) -> tuple[float, float]:
            run = subprocess.run(
                [sys.executable, "-c", PROGRAM.format(code=code)], env=env, capture_output=True, text=True, check=True
            )
            wall, cpu = run.stdout.split()
            return float(wall), float(cpu)

        floors, handlers = [], []
        for _ in range(runs):  # interleaved, so drift on the machine hits both alike
            floors.append(timed(FLOOR))
            handlers.append(timed("import app"))
    wall = [statistics.median(t[0] for t in times) * 1000 for times in (handlers, floors)]
    cpu = [statistics.median(t[1] for t in times) * 1000 for times in (handlers, floors)]
    print(
        f"  import: handler module {cpu[0]:.0f} ms CPU, floor {cpu[1]:.0f} ms CPU (wall {wall[0]:.0f} / {wall[1]:.0f}"
        f" ms; medians of {runs}, load average {os.getloadavg()[0]:.1f})",
        flush=True,
    )
    return cpu[0] / cpu[1]


if __name__ == "__main__":
    print(f"import_ratio={import_ratio(int(sys.argv[1]) if len(sys.argv) > 1 else 7):.2f}")
