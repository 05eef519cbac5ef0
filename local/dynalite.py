"""dynalite (npm: an independent DynamoDB implementation on LevelDB, Apache-2.0) on 127.0.0.1.

`make bench` measures against it (moto serves ~100 conditional writes a second, dynalite several times that), and
the store's integration tests run against it as well as moto whenever Node is on the machine: it is stricter
(it refuses a number written as text in a key, which moto accepts). The version is pinned in
local/dynalite/package-lock.json; `npm ci` installs it into local/dynalite/node_modules (ignored by git).
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local.stack import free_port, wait_listening

HOME = Path(__file__).resolve().parent / "dynalite"
CLI = HOME / "node_modules" / "dynalite" / "cli.js"


class NodeMissing(RuntimeError):
    """No `node` or `npm` on PATH."""


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def install() -> Path:
    """Install the pinned dynalite with `npm ci` unless it is there; return its CLI. Safe to call concurrently."""
    if not node_available():
        raise NodeMissing("dynalite needs Node.js (node and npm on PATH, Node 20 or later); none found")
    with open(HOME / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not CLI.exists():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=HOME,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    return CLI


@contextmanager
def dynalite_server() -> Iterator[str]:
    """Yield the endpoint of a fresh in-memory dynalite. Tables are ACTIVE at once (no CREATING delay)."""
    cli = install()
    port = free_port()
    node = shutil.which("node") or "node"
    delays = ["--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"]
    proc = subprocess.Popen(
        [node, str(cli), "--host", "127.0.0.1", "--port", str(port), *delays],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
