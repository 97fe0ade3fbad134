"""Paths, logging and server processes shared by the harness."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / ".data"  # git-ignored: cached datasets, run copies, server logs
RESULTS = BENCH / "results"
PYTHON = sys.executable

PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET_KEY = "bench"  # fixed, so keyset cursors stay valid across a server run
PASSWORD = os.environ.get("DEMO_PASSWORD", "Minegraph@2022")
START_TIMEOUT_S = 120

_t0 = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr with the elapsed time of the whole run."""
    elapsed = time.monotonic() - _t0
    print(f"[bench {int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}] {message}", file=sys.stderr, flush=True)


def elapsed_s() -> float:
    return time.monotonic() - _t0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process_group(proc: subprocess.Popen) -> None:
    """End a process started with `start_new_session=True` and all it started: SIGTERM to its
    group, then SIGKILL if it has not exited within 15 s (tests/support/servers.py uses it too)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


class ServerFailed(RuntimeError):
    pass


@dataclass
class Server:
    """One contender's server process on 127.0.0.1 (in its own process group)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    health_path: str
    log_path: Path
    cwd: Path = ROOT
    proc: subprocess.Popen | None = None
    started_s: float = 0.0
    peak_rss: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = t0 + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise ServerFailed(f"{self.name} exited with {self.proc.returncode}:\n{tail(self.log_path)}")
            try:
                if httpx.get(self.base + self.health_path, timeout=2, trust_env=False).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServerFailed(f"{self.name} did not answer in {START_TIMEOUT_S}s:\n{tail(self.log_path)}")
            time.sleep(0.2)
        self.started_s = time.monotonic() - t0
        return self

    def pids(self) -> list[int]:
        """The server process and all its descendants (uvicorn workers, node children)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        parents: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(parents.get(pid, []))
        return found

    def _cpu_ticks(self) -> int:
        """CPU time (clock ticks) of the server's processes and of PostgreSQL's backends."""
        pids = set(self.pids())
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "comm").read_text().strip() == "postgres":
                        pids.add(int(entry.name))
                except OSError:
                    continue
        ticks = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime + stime
            except (OSError, IndexError, ValueError):
                continue
        return ticks

    def wait_idle(self, max_s: float = 30.0, window_s: float = 0.25) -> float:
        """Wait until the server (and PostgreSQL) stop using CPU: requests a load point left
        queued must not spill into the next point. Returns the seconds waited."""
        t0 = time.monotonic()
        quiet = 0
        last = self._cpu_ticks()
        while time.monotonic() - t0 < max_s and quiet < 2:
            time.sleep(window_s)
            now = self._cpu_ticks()
            quiet = quiet + 1 if now - last <= 2 else 0
            last = now
        return time.monotonic() - t0

    def read_peak_rss(self) -> dict[str, int]:
        """VmHWM (peak resident set, bytes) of each process of the server, by pid."""
        peaks = {}
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[str(pid)] = int(line.split()[1]) * 1024
            except OSError:
                continue
        self.peak_rss = peaks
        return peaks

    def stop(self) -> None:
        if self.proc is not None:
            stop_process_group(self.proc)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# ---------------------------------------------------------------------------- background load

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _busy_ticks() -> int:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return user + nice + system + irq + softirq + steal


def _proc_ticks(pid: int | str, children: bool = False) -> int:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    ticks = int(f[11]) + int(f[12])
    if children:
        ticks += int(f[13]) + int(f[14])
    return ticks


def own_ticks(server: Server | None = None) -> int:
    """CPU ticks of this harness (with the children it has reaped: wrk, stopped servers,
    sqlcount), of the live server and of PostgreSQL (with its reaped backends)."""
    ticks = _proc_ticks(os.getpid(), children=True)
    if server is not None:
        ticks += sum(_proc_ticks(pid) for pid in server.pids())
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    ticks += _proc_ticks(entry.name, children=True)
            except OSError:
                continue
    return ticks


class LoadMeter:
    """Share of the machine's CPU used by processes other than the benchmark's own while it runs
    (other people's test suites on a shared machine), and the load average."""

    def __init__(self, server: Server | None = None) -> None:
        self.server = server
        self.t0 = time.monotonic()
        self.busy0 = _busy_ticks()
        self.own0 = own_ticks(server)
        self.load0 = os.getloadavg()[0]

    def stop(self) -> dict:
        wall = time.monotonic() - self.t0
        busy = _busy_ticks() - self.busy0
        own = own_ticks(self.server) - self.own0
        capacity = wall * CLK_TCK * (os.cpu_count() or 1)
        foreign = max(0, busy - own)
        return {"foreign_cpu_pct": round(100 * foreign / capacity, 1) if capacity else None,
                "own_cpu_pct": round(100 * own / capacity, 1) if capacity else None,
                "loadavg_start": round(self.load0, 2), "loadavg_end": round(os.getloadavg()[0], 2)}


def wait_quiet(budget_s: float, threshold_pct: float = 15.0, window_s: float = 2.0) -> float:
    """Wait (at most budget_s) until other processes use under threshold_pct of the machine
    over a window. Returns the seconds waited."""
    t0 = time.monotonic()
    while True:
        meter = LoadMeter()
        time.sleep(window_s)
        foreign = meter.stop()["foreign_cpu_pct"] or 0.0
        waited = time.monotonic() - t0
        if foreign < threshold_pct or waited >= budget_s:
            return waited
        say(f"  other processes use {foreign:.0f} % of the machine: waiting ({waited:.0f} s so far)")
