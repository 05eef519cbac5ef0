"""After `sam build`: every native library in the build targets aarch64 (Lambda arm64), and the layer holds
the package and its dependencies. Exits non-zero with the offending files otherwise."""

from __future__ import annotations

import sys
from pathlib import Path

EM_AARCH64 = 183  # ELF e_machine


def elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def main(build_dir: str) -> int:
    root = Path(build_dir)
    layer = root / "SharedLayer" / "python"
    missing = [
        name
        for name in ("profile_poller", "boto3", "requests", "aws_lambda_powertools", "aws_xray_sdk")
        if not (layer / name).is_dir()
    ]
    natives = [p for p in root.rglob("*.so*") if p.is_file()]
    wrong = [p for p in natives if elf_machine(p) not in (EM_AARCH64, None)]
    if missing or wrong or not (root / "PollerFunction" / "app.py").is_file():
        print(f"build check failed: missing {missing}, non-aarch64 {[str(p) for p in wrong]}", file=sys.stderr)
        return 1
    packages = sorted(p.name for p in layer.iterdir() if p.is_dir() and "." not in p.name)
    print(f"build check: layer packages {', '.join(packages)}; {len(natives)} native libraries, all aarch64")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build"))
