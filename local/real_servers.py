"""Real servers for the integration tests (dev only): OpenSSH's sshd serving `internal-sftp` in a chroot (here) and
nginx (local/real_nginx.py). Each runs as a child process on 127.0.0.1 at a free port with its own configuration,
keys, pid file and logs in a temporary folder, so tests can run side by side (pytest-xdist).

`missing_sshd()` (and real_nginx's `missing_nginx()`) say why a server cannot start here (None when it can): tests
skip with that reason. `.ci/run` installs Debian's `openssh-server` and `nginx` so CI always runs them
(docs/local-development.md).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"
START_SECONDS = 15.0
# Where a chroot folder may live: sshd refuses a chroot whose path has a component that is not owned by root or is
# group/other writable (so not under /tmp). The first candidate that qualifies is used.
CHROOT_PARENTS = (os.environ.get("SSHD_CHROOT_PARENT", ""), "/run", "/var/lib", "/srv")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def binary(path: str, name: str) -> str | None:
    return path if os.access(path, os.X_OK) else shutil.which(name)


def missing_sshd() -> str | None:
    if binary(SSHD, "sshd") is None:
        return "OpenSSH sshd is not installed (Debian: apt-get install openssh-server; .ci/run does it)"
    for tool in ("ssh-keygen", "ssh-keyscan"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: openssh-client)"
    if os.geteuid() != 0:
        return "sshd with a chroot must run as root (CI runs as root)"
    if _chroot_parent() is None:
        return f"no root-owned, non-writable folder for the chroot among {CHROOT_PARENTS}"
    return None


def _root_only(path: Path) -> bool:
    for part in (path, *path.parents):
        try:
            info = part.stat()
        except OSError:
            return False
        if info.st_uid != 0 or info.st_mode & 0o022:
            return False
    return True


def _chroot_parent() -> Path | None:
    for candidate in CHROOT_PARENTS:
        if candidate and os.access(candidate, os.W_OK) and _root_only(Path(candidate)):
            return Path(candidate)
    return None


class ServerProcess:
    """A server child process whose stderr is read until a line says it is ready."""

    def __init__(self, args: list[str], ready: str, folder: Path) -> None:
        self.folder = folder
        self.log: list[str] = []
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._reader = threading.Thread(target=self._read, args=(ready,), daemon=True)
        self._reader.start()

    def _read(self, ready: str) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.log.append(line)
            if ready in line:
                self._ready.set()
        self._ready.set()  # the process ended: wait_ready() reports it

    def wait_ready(self, port: int) -> None:
        """Until the ready line (sshd) or the port answers (nginx logs nothing); bounded by START_SECONDS."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self._ready.wait(0.05) and self.process.poll() is None:
                return
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        self.stop()
        raise RuntimeError("server did not start:\n" + "\n".join(self.log[-20:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()


class RealSshd:
    """sshd on 127.0.0.1:<free port>: host keys of the given types (ssh-keygen), public-key login as the current user
    (root: sshd needs it to chroot), `ForceCommand internal-sftp` chrooted to a folder holding `outbox/`."""

    def __init__(self, key_types: tuple[str, ...] = ("ed25519", "ecdsa", "rsa"), max_sessions: int = 10) -> None:
        self.key_types = key_types
        self.max_sessions = max_sessions
        self.work = Path(tempfile.mkdtemp(prefix="sshd-"))
        parent = _chroot_parent()
        assert parent is not None, missing_sshd()
        self.chroot = Path(tempfile.mkdtemp(prefix="profile-poller-sftp-", dir=parent))
        os.chmod(self.chroot, 0o755)
        (self.chroot / "outbox").mkdir()
        self.username = pwd.getpwuid(os.geteuid()).pw_name
        self.port = 0
        self._process: ServerProcess | None = None

    def start(self) -> RealSshd:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder (Debian's unit)
        host_keys = []
        for kind in self.key_types:
            path = self.work / f"ssh_host_{kind}_key"
            _run("ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path))
            host_keys.append(f"HostKey {path}")
        client = self.work / "client_key"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(client))
        shutil.copy(f"{client}.pub", self.work / "authorized_keys")
        self.port = free_port()
        config = self.work / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    *host_keys,
                    f"PidFile {self.work / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.work / 'authorized_keys'}",
                    "StrictModes no",
                    "UsePAM no",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "AllowTcpForwarding no",
                    "X11Forwarding no",
                    f"MaxSessions {self.max_sessions}",
                    "LogLevel VERBOSE",
                    "Subsystem sftp internal-sftp",
                    f"ChrootDirectory {self.chroot}",
                    "ForceCommand internal-sftp",
                    "",
                ]
            )
        )
        sshd = binary(SSHD, "sshd")
        assert sshd is not None
        self._process = ServerProcess([sshd, "-D", "-e", "-f", str(config)], "Server listening", self.work)
        self._process.wait_ready(self.port)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
        shutil.rmtree(self.work, ignore_errors=True)
        shutil.rmtree(self.chroot, ignore_errors=True)

    def __enter__(self) -> RealSshd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def keyscan(self, *options: str) -> list[str]:
        """What a tenant pastes: `ssh-keyscan [-H] -p PORT 127.0.0.1`, every line as printed."""
        done = subprocess.run(
            ["ssh-keyscan", *options, "-p", str(self.port), "127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return [line for line in done.stdout.splitlines() if line.strip()]

    def put(self, name: str, data: bytes) -> str:
        (self.chroot / "outbox" / name).write_bytes(data)
        return f"/outbox/{name}"

    def section(self, host_keys: list[str], base_dir: str = "/outbox") -> dict[str, object]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "username": self.username,
            "private_key": (self.work / "client_key").read_text(),
            "host_keys": host_keys,
            "base_dir": base_dir,
        }


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=60)
