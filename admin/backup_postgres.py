"""PostgreSQL backups with pg_dump, and restores with pg_restore.

`pg_dump --format=custom` reads one repeatable-read snapshot, consistent while the service
writes; `pg_restore` replays it into an empty database (`--force`: drop and replace what is
there), in one transaction. Both need the PostgreSQL client programs on the PATH (Debian:
postgresql-client); without them the command says so and does nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import URL

from admin.backup_common import BackupError, Summary, fsync_path, written_into_place


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"PostgreSQL backups need `{name}` on the PATH (Debian/Ubuntu: apt install "
                          "postgresql-client, of the server's major version or newer); nothing was done")
    return found


def _pg_connection(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq arguments and environment for the URL (the password goes in the environment, not argv)."""
    if not url.database:
        raise BackupError("DATABASE_URL names no PostgreSQL database")
    args = ["--no-password", f"--dbname={url.database}"]
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    ssl = url.query.get("sslmode") or url.query.get("ssl")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = {"true": "require", "false": "disable"}.get(ssl.lower(), ssl)
    return args, env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed ({Path(command[0]).name} exit code {done.returncode}): "
                          + " | ".join(detail[-5:]))


def backup_postgres(url: URL, target: Path) -> Summary:
    started = time.perf_counter()
    pg_dump = _pg_tool("pg_dump")
    args, env = _pg_connection(url)
    with written_into_place(target, "partial") as temp:
        # pg_dump reads everything in one repeatable-read transaction: a consistent snapshot.
        _run([pg_dump, "--format=custom", f"--file={temp}", *args], env, f"pg_dump of {url.database}")
        fsync_path(temp)
    return Summary("backup", "postgresql", target, url.database, target.stat().st_size, time.perf_counter() - started)


async def _pg_query(url: URL, sql: str) -> int:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url.set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


def _pg_scalar(url: URL, sql: str) -> int:
    try:
        return asyncio.run(_pg_query(url, sql))
    except Exception as error:  # noqa: BLE001 - any failure: say what it was
        raise BackupError(f"cannot reach PostgreSQL database {url.database}: {error}") from None


def restore_postgres(url: URL, source: Path, force: bool) -> Summary:
    started = time.perf_counter()
    pg_restore = _pg_tool("pg_restore")
    args, env = _pg_connection(url)
    listing = subprocess.run([pg_restore, "--list", str(source)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"{source} is not a pg_dump custom-format archive (`minegraph backup` on PostgreSQL "
                          f"writes one): {listing.stderr.strip()}")
    tables = _pg_scalar(url, "SELECT count(*) FROM pg_catalog.pg_tables "
                             "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
    if tables and not force:
        raise BackupError(f"database {url.database} is not empty ({tables} tables): restore into an empty "
                          "database (createdb), or stop the service and pass --force to replace what is there")
    command = [pg_restore, "--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges", *args]
    if tables:
        command += ["--clean", "--if-exists"]
    _run([*command, str(source)], env, f"pg_restore into {url.database}")
    mines = _pg_scalar(url, "SELECT count(*) FROM mine")
    audit = _pg_scalar(url, "SELECT count(*) FROM audit_log")
    return Summary("restore", "postgresql", source, url.database, source.stat().st_size,
                   time.perf_counter() - started, mines, audit)
