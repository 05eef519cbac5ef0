"""After `sam build`: every native library in the build targets aarch64 (Lambda arm64), the layer holds the
package and its dependencies, and every module of the package has the unchecked-hash bytecode of Python 3.13 that
layers/shared/Makefile compiles (Lambda cannot write any: without it each cold start compiles from source).
Exits non-zero with the offending files otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

EM_AARCH64 = 183  # ELF e_machine
PYC_UNCHECKED_HASH = 0b01  # the flags word of a .pyc (PEP 552): hash-based, source not checked


def elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def _unchecked_pyc(source: Path) -> bool:
    pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
    if not pyc.is_file():
        return False
    header = pyc.read_bytes()[:8]
    return int.from_bytes(header[4:8], "little") == PYC_UNCHECKED_HASH


def main(build_dir: str) -> int:
    root = Path(build_dir)
    layer = root / "SharedLayer" / "python"
    missing = [
        name
        for name in ("profile_poller", "boto3", "requests", "aws_lambda_powertools", "aws_xray_sdk")
        if not (layer / name).is_dir()
    ]
    no_bytecode = [str(p) for p in (layer / "profile_poller").rglob("*.py") if not _unchecked_pyc(p)]
    natives = [p for p in root.rglob("*.so*") if p.is_file()]
    wrong = [p for p in natives if elf_machine(p) not in (EM_AARCH64, None)]
    if missing or wrong or no_bytecode or not (root / "PollerFunction" / "app.py").is_file():
        print(
            f"build check failed: missing {missing}, non-aarch64 {[str(p) for p in wrong]}, "
            f"without unchecked-hash bytecode {no_bytecode[:5]}",
            file=sys.stderr,
        )
        return 1
    packages = sorted(p.name for p in layer.iterdir() if p.is_dir() and "." not in p.name and p.name != "__pycache__")
    compiled = sum(1 for _ in layer.rglob("*.cpython-313.pyc"))
    print(
        f"build check: layer packages {', '.join(packages)}; {len(natives)} native libraries, all aarch64; "
        f"{compiled} modules with bytecode"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build"))
