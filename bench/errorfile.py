"""The error-file parser alone on a 100 MiB file, clean and with a stray quote at its top.

`python -m bench.errorfile` (also run by `make bench`) prints one line per case and the figures line (last):
errorfile: clean_mib_s=X stray_quote_mib_s=Y unclosed_quote_mib_s=Z stray_vs_clean=R peak_rss_mb=M

Each case runs in its own process, so its peak RSS is the parser's alone; the file is generated chunk by
chunk (never held whole), fed in the 64 KiB reads the upload makes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

HEADER = b"Code, Description, Index\r\n"
ROW = b'3005, "Invalid Profile ID", 1234567\r\n'
TOPS = {
    "clean": b"",
    "stray_quote": b'7031, "C:\\temp\\", 0\r\n',  # the backslash would escape the closing quote
    "unclosed_quote": b'7031, "never closed, 0\r\n',
}
CHUNK = 65536


def chunks(top: bytes, size: int) -> Iterator[bytes]:
    block = ROW * (CHUNK // len(ROW))
    yield HEADER + top
    sent = len(HEADER) + len(top)
    while sent + len(ROW) <= size:  # whole rows only
        piece = block[: (size - sent) // len(ROW) * len(ROW)]
        sent += len(piece)
        yield piece


def rss_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one(case: str, size: int) -> dict[str, object]:
    from profile_poller.core.errorfile import ErrorFileParser

    baseline = rss_mb("VmRSS")
    parser = ErrorFileParser()
    started = time.perf_counter()
    for chunk in chunks(TOPS[case], size):
        parser.feed(chunk)
    summary = parser.finish()
    seconds = time.perf_counter() - started
    return {
        "case": case,
        "seconds": seconds,
        "mib_s": size / 2**20 / seconds,
        "error_count": summary.error_count,
        "problem": summary.problem,
        "peak_rss_mb": rss_mb("VmHWM"),
        "baseline_rss_mb": baseline,
    }


def measure(size: int, rounds: int = 3) -> dict[str, dict[str, object]]:
    """Cases interleaved, `rounds` times each (the machine is shared); the median round is kept."""
    runs: dict[str, list[dict[str, object]]] = {case: [] for case in TOPS}
    for case in [c for _ in range(rounds) for c in TOPS]:
        out = subprocess.run(
            [sys.executable, "-m", "bench.errorfile", "--one", case, str(size)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs[case].append(json.loads(out.stdout.strip().splitlines()[-1]))
    results = {}
    for case, figures_list in runs.items():
        figures = sorted(figures_list, key=lambda f: float(f["seconds"]))[len(figures_list) // 2]  # type: ignore[arg-type]
        print(
            f"  error file {size / 2**20:.0f} MiB, {case}: {figures['seconds']:.2f} s ({figures['mib_s']:.0f} MiB/s), "
            f"peak RSS {figures['peak_rss_mb']:.0f} MB (after imports {figures['baseline_rss_mb']:.0f} MB), "
            f"error_count={figures['error_count']} problem={figures['problem']!r} (median of {rounds})",
            flush=True,
        )
        results[case] = figures
    return results


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]))))
        return 0
    size = int(os.environ.get("BENCH_ERRORFILE_BYTES", str(100 * 2**20)))
    results = measure(size)
    clean, stray = float(results["clean"]["mib_s"]), float(results["stray_quote"]["mib_s"])  # type: ignore[arg-type]
    unclosed = float(results["unclosed_quote"]["mib_s"])  # type: ignore[arg-type]
    peak = max(float(r["peak_rss_mb"]) for r in results.values())  # type: ignore[arg-type]
    print(
        f"errorfile: clean_mib_s={clean:.0f} stray_quote_mib_s={stray:.0f} unclosed_quote_mib_s={unclosed:.0f} "
        f"stray_vs_clean={stray / clean:.2f} peak_rss_mb={peak:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
