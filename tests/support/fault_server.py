"""A `minegraph serve` for the fault tests that can be SIGKILLed, restarted and measured.

`servers.serving` is a context manager for a server that lives as long as a block; the fault tests
need one they can kill -9 in the middle of a stream of writes and start again on the same log, and
whose processes (the server and its workers) they can count and weigh from /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from support import servers

if TYPE_CHECKING:
    from support.sqldb import Database


class Server:
    """`minegraph serve` in its own process group: started, checked, SIGKILLed, measured."""

    def __init__(self, database: Database, log_path: Path, *, workers: int = 1, **env: str) -> None:
        self.database, self.log_path, self.workers, self.env = database, log_path, workers, env
        self.proc: subprocess.Popen | None = None
        self.base = ""

    def start(self) -> Server:
        port = servers.free_port()
        self.base = f"http://127.0.0.1:{port}"
        with open(self.log_path, "ab") as log:  # appended: one log over every restart
            log.write(f"\n===== start {time.strftime('%H:%M:%S')} on {self.base}\n".encode())
            log.flush()
            self.proc = servers.serve_process(self.database, log, port, workers=self.workers, **self.env)
        # Polled more often than servers.serving: the kill test restarts it after every kill.
        problem = servers.wait_until_healthy(self.proc, self.base, self.log_path, poll_s=0.1)
        if problem is None:
            return self
        self.kill()  # nothing of a server that never answered is left behind
        raise AssertionError(problem)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> list[int]:
        """Every process of the server's group (the server and its workers)."""
        if self.proc is None:
            return []
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ")".
                if int(stat.rsplit(")", 1)[1].split()[2]) == self.proc.pid:
                    found.append(int(entry.name))
        return found

    def rss_mb(self) -> float:
        """Resident memory of the whole group, in MB (from /proc/<pid>/status VmRSS)."""
        total_kb = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
            except OSError:
                continue
        return total_kb / 1024

    def kill(self) -> None:
        """SIGKILL the whole group, no warning, and reap it."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        # Workers of a multi-process server are in the group too: wait until the kernel has them gone.
        deadline = time.monotonic() + 10
        while self.pids_alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    def pids_alive(self) -> list[int]:
        alive = []
        for pid in self.pids():
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        return alive

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")
