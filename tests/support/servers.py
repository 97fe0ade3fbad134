"""Real `minegraph` processes for black-box tests: seed a database, serve it on loopback.

The database is an `sqldb.Database` (a fresh SQLite file or PostgreSQL database,
whichever backend the run uses)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import IO, TYPE_CHECKING

import httpx
import pytest

from bench.common import stop_process_group

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support.sqldb import Database

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_TIMEOUT_S = 600
START_TIMEOUT_S = 90


def cli_env(database: Database, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database.url
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PRODUCTION"] = "false"
    if database.postgresql:
        # Instances of one PostgreSQL database share an explicit key (as the README asks).
        env["SECRET_KEY"] = f"test-secret-{database.name}"
    else:
        env.pop("SECRET_KEY", None)  # generated beside the temp database, shared by its servers
    env.update(extra)
    return env


def cli(database: Database, *args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    """`minegraph ARGS` on the database, in a process of its own: its output and exit code.
    `cwd` a scratch folder: no .env of the developer's is read (settings the test relies on)."""
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, env=cli_env(database),
                          capture_output=True, text=True, timeout=SEED_TIMEOUT_S)


def seed(database: Database, mines: int, *, cwd: Path = REPO_ROOT) -> None:
    done = cli(database, "seed", "--demo", "--mines", str(mines), cwd=cwd)
    assert done.returncode == 0, f"seed failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def serve_process(database: Database, log: IO[bytes], port: int, *, workers: int = 1,
                  **extra: str) -> subprocess.Popen:
    """`minegraph serve --workers N` on 127.0.0.1:`port`, writing to `log`, in a process group of
    its own (its workers stop, or are killed, with it)."""
    env = cli_env(database, HOST="127.0.0.1", PORT=str(port), **extra)
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--workers", str(workers)], cwd=REPO_ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def wait_until_healthy(proc: subprocess.Popen, base: str, log_path: Path, *, poll_s: float = 0.25) -> str | None:
    """None once `base`/healthz answers 200; why not if the process exits first or START_TIMEOUT_S pass.
    The caller fails its own way (pytest.fail, or an AssertionError after killing what it started)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            return f"`minegraph serve` exited with {proc.returncode}:\n{tail(log_path)}"
        try:
            if httpx.get(f"{base}/healthz", timeout=2, trust_env=False).status_code == 200:
                return None
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            return f"`minegraph serve` did not answer on {base} in {START_TIMEOUT_S}s:\n{tail(log_path)}"
        time.sleep(poll_s)


@contextmanager
def serving(database: Database, log_path: Path, *, workers: int = 1, **extra: str) -> Iterator[SimpleNamespace]:
    """`minegraph serve --workers N` on a free loopback port; yields `.base` (its URL) and `.log`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = serve_process(database, log, port, workers=workers, **extra)
    try:
        problem = wait_until_healthy(proc, base, log_path)
        if problem is not None:
            pytest.fail(problem)
        yield SimpleNamespace(base=base, log=log_path, pid=proc.pid)
    finally:
        stop_process_group(proc)


@contextmanager
def two_instances(directory: Path, mines: int = 300) -> Iterator[tuple[Database, list[SimpleNamespace]]]:
    """Two `minegraph serve` processes on ONE freshly seeded database: yields it and both servers."""
    from support.sqldb import fresh_database

    with fresh_database(directory) as database:
        seed(database, mines)
        with serving(database, directory / "a.log") as a, serving(database, directory / "b.log") as b:
            yield database, [a, b]
