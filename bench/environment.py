"""What a run needs from this machine besides Python: wrk, PostGraphile from npm, a quiet CPU,
and the facts about the machine that the report records."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, say, wait_quiet
from bench.datasets import Dataset, pg
from bench.load import wrk_available

NPM_PACKAGES = ("postgraphile@4", "@graphile/pg-aggregates@0.1")


def ensure_wrk() -> None:
    if wrk_available():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("wrk missing: apt-get install -y wrk")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
    if not wrk_available():
        sys.exit("wrk is required: apt-get install wrk (Debian)")


def npm_install(target: Path) -> tuple[float, str | None]:
    """PostGraphile 4 + pg-aggregates into a temp folder; (seconds, error)."""
    t0 = time.monotonic()
    if not shutil.which("npm"):
        return 0.0, "npm not found on this machine"
    (target / "package.json").write_text('{"private": true}\n')
    try:
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *NPM_PACKAGES],
                              cwd=target, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return time.monotonic() - t0, "npm install timed out after 300 s"
    if done.returncode != 0:
        return time.monotonic() - t0, f"npm install failed: {(done.stderr or done.stdout)[-400:]}"
    return time.monotonic() - t0, None


def machine_facts(ds: Dataset) -> dict:
    def first_line(argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    facts = {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "wrk": first_line(["wrk", "-v"]), "node": first_line(["node", "--version"]),
        "git": first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "git_dirty": bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True,
                                         text=True).stdout.strip()),
    }
    if ds.pg_db:
        try:
            facts["postgresql"] = pg("SELECT version()", db=ds.pg_db)[0][0][0].split(" on ")[0]
        except Exception:  # noqa: BLE001
            facts["postgresql"] = "?"
    return facts


class QuietWait:
    """Before each contender, wait while other processes keep the machine busy, at most budget_s
    over the whole run (0: never wait); waited_s is what the report records."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.waited_s = 0.0

    def __call__(self) -> None:
        if self.budget_s > self.waited_s:
            self.waited_s += wait_quiet(self.budget_s - self.waited_s)
