"""One sweep that copies one large error file into S3; prints peak RSS and the counts as JSON (last line).

Runs in its own process so its peak RSS is the sweep's alone. Environment: the function's variables
(TABLE_NAME, BUCKET_NAME, ... API_BASE_URL) and AWS_ENDPOINT_URL, set by bench/run.py.
"""

from __future__ import annotations

import json
import time

from profile_poller.entry.aws import AwsPolicy, ClientPolicy
from profile_poller.entry.config import load_settings
from profile_poller.entry.producer import get, register
from profile_poller.entry.runtime import Runtime


def rss_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    settings = load_settings()
    # moto assembles a 1 GiB multipart object and copies it (the checksum stamp) in one Python process: on a shared
    # 2-core machine that can take longer than the production S3 read timeout (30 s), which real S3 never does
    runtime = Runtime.build(settings, aws=AwsPolicy(s3=ClientPolicy(5, 2.0, 600.0)))
    client = runtime.deps.store._client  # type: ignore[attr-defined]  # the same client the sweep uses
    register(client, settings.table_name, "big-1")
    baseline = rss_mb("VmRSS")
    started = time.perf_counter()
    summary = runtime.sweep("bench-copy", lambda: 900_000).as_dict()
    seconds = time.perf_counter() - started
    item = get(client, settings.table_name, "big-1") or {}
    outcome = item.get("outcome", {})
    print(
        json.dumps(
            {
                "status": item.get("status"),
                "summary": summary,
                "seconds": seconds,
                "bytes": summary["bytes_archived"],
                "error_count": outcome.get("error_count"),
                "errors_by_code": outcome.get("errors_by_code"),
                "peak_rss_mb": rss_mb("VmHWM"),
                "baseline_rss_mb": baseline,
            }
        )
    )


if __name__ == "__main__":
    main()
