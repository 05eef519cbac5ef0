"""SFTP files in the chaos run: some finished requests name an sftp:// file on a real SFTP server (asyncssh), with
SFTP faults: a connection dropped mid-file, a read that stalls past the timeout, a file that appears late, and a
permission refusal (that file must end `archived: false`, never as an object)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from local.sftp_server import SftpServer

SFTP_SHARE = 0.3  # of the requests that have a file
SFTP_FAULTS: list[list[str]] = [[], [], ["drop"], ["stall"], ["drop", "drop"], ["late"], ["deny"]]
LATE_ROUND = 4  # files scripted "late" are written before this round's sweeps


@dataclass
class SftpPlan:
    server: SftpServer
    late: dict[str, bytes] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)  # request ids whose file must end not archived

    def file_value(self, rid: str, name: str, data: bytes, rng: random.Random) -> str | None:
        """An sftp:// value for this file (the file put on the server with its faults), or None for HTTPS."""
        if rng.random() >= SFTP_SHARE:
            return None
        faults = list(rng.choice(SFTP_FAULTS))
        path = f"/outbox/{name}"
        if faults == ["late"]:
            self.late[name] = data
        else:
            self.server.put(name, data)
            self.server.fault(name, *faults)
        if faults == ["deny"]:
            self.denied.add(rid)
        return self.server.url(path)

    def before_round(self, number: int) -> None:
        if number == LATE_ROUND:
            for name, data in self.late.items():
                self.server.put(name, data)
