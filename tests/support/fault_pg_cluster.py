"""A private PostgreSQL cluster for the database-outage test, which stops it under a running server.

initdb + pg_ctl from the Debian packages (or PG_BINDIR), as the postgres user when run as root, on a
free loopback port under a temp dir of its own — never the machine's own cluster, which the other
tests use. Without those tools (or that user) the test that asks for a cluster is skipped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from support import servers
from support import sqldb


def _pg_bindir() -> Path | None:
    configured = os.environ.get("PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
                        if p.parts[-3].isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class Cluster:
    """A private PostgreSQL cluster on a free loopback port, under a temp dir of its own."""

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        if self.bindir is None or not (self.bindir / "pg_ctl").exists():
            pytest.skip("no initdb/pg_ctl (Debian: postgresql) to run a private cluster; set PG_BINDIR")
        self.as_user: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="mg-pg-"))
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a `postgres` user to run a private cluster as")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.root.chmod(0o700)
        self.data = self.root / "data"
        self.port = servers.free_port()

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}"

    def init(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-locale")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "postgres.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> sqldb.Database:
        with _connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        return ClusterDatabase(f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}", name, self.root)

    def destroy(self) -> None:
        if self.running():
            try:
                self.stop("immediate")
            except AssertionError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def _connect(conninfo: str):
    import psycopg

    return psycopg.connect(conninfo, autocommit=True, connect_timeout=5, options="-c TimeZone=UTC")


class ClusterDatabase(sqldb.Database):
    """A database of the private cluster (sqldb.Database connects through TEST_PG_URL's server)."""

    def connect(self) -> sqldb.Connection:
        return sqldb.Connection(_connect(self.url.replace("postgresql+asyncpg://", "postgresql://")), postgresql=True)
