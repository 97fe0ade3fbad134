"""Backups of the service's database, taken while it serves, and restores of them.

SQLite: `backup` copies a consistent snapshot with SQLite's online backup API in one step (one
read transaction, so in WAL mode writers carry on beside it and the copy is the database as of
one commit). The copy goes to a temporary file beside the target, is checked
(`PRAGMA integrity_check`, `PRAGMA foreign_key_check`), made a single self-contained file
(journal mode DELETE, no `-wal` beside it), fsynced and renamed into place, so a crash never
leaves a half-written backup under the target's name.

`restore` checks the backup the same way, copies it to a temporary file beside DATABASE_URL's
file and renames it into place (after removing the old database's `-wal`/`-shm`, which must never
be applied to another file). The service must be stopped: a process that still has the old file
open would go on writing to it. On Linux, `restore` refuses while another process has the
database open.

PostgreSQL: `pg_dump --format=custom` (one repeatable-read snapshot, consistent while the service
writes) and `pg_restore` into an empty database (`--force`: drop and replace what is there), in one
transaction. Both need the PostgreSQL client programs on the PATH (Debian: postgresql-client);
without them the command says so and does nothing.

The cursor-signing key kept beside an SQLite database (`.secret_key`) is not part of a backup: a
restore under another directory gets a new one, which only invalidates page cursors in flight.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

# Tables that make a file a minegraph database (checked before a restore replaces anything).
REQUIRED_TABLES = ("alembic_version", "mine", "region", "account", "audit_log")
LOCK_WAIT_S = 30.0


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class Summary:
    action: str  # "backup" or "restore"
    backend: str  # "sqlite" or "postgresql"
    path: Path  # the backup file written or read
    database: str  # the SQLite file, or the PostgreSQL database name
    size: int
    seconds: float
    mines: int | None = None
    audit_records: int | None = None

    def line(self) -> str:
        counts = ""
        if self.mines is not None:
            counts = f", {self.mines:,} mines, {self.audit_records:,} audit records"
        checked = ", integrity and foreign keys checked" if self.backend == "sqlite" else ""
        if self.action == "backup":
            return (f"backed up {self.database} to {self.path} ({self.size / 1e6:.1f} MB{counts}{checked}) "
                    f"in {self.seconds:.1f} s")
        return (f"restored {self.path} into {self.database} ({self.size / 1e6:.1f} MB{counts}{checked}) "
                f"in {self.seconds:.1f} s")


def backup(database_url: str, target: Path, *, force: bool = False) -> Summary:
    """Write a consistent copy of the database to `target` (the service may keep running)."""
    url = make_url(database_url)
    target = Path(target).expanduser().absolute()
    if target.is_dir():
        raise BackupError(f"{target} is a directory: give the backup file's path, e.g. {target / 'minegraph.backup'}")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists: choose a new file, or pass --force to overwrite it")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} does not exist: create the directory first")
    if url.get_backend_name() == "sqlite":
        return _sqlite_backup(_sqlite_file(url), target)
    if url.get_backend_name() == "postgresql":
        return _pg_backup(url, target)
    raise BackupError(f"backups of {url.get_backend_name()} databases are not supported (SQLite and PostgreSQL are)")


def restore(database_url: str, source: Path, *, force: bool = False) -> Summary:
    """Replace DATABASE_URL's database with the backup at `source` (the service must be stopped)."""
    url = make_url(database_url)
    source = Path(source).expanduser().absolute()
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    if url.get_backend_name() == "sqlite":
        return _sqlite_restore(source, _sqlite_file(url), force)
    if url.get_backend_name() == "postgresql":
        return _pg_restore(url, source, force)
    raise BackupError(f"restores into {url.get_backend_name()} databases are not supported (SQLite and PostgreSQL are)")


# --------------------------------------------------------------------------- SQLite


def _sqlite_file(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError(f"DATABASE_URL {url.render_as_string()} names no SQLite file to back up or restore")
    return Path(url.database).expanduser().absolute()


def _open_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=LOCK_WAIT_S)


def _checked(conn: sqlite3.Connection, label: str) -> tuple[int, int]:
    """Integrity, foreign keys and the minegraph tables of an open copy; its (mines, audit records)."""
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            raise BackupError(f"{label} fails SQLite's integrity check: {'; '.join(integrity[:5])}")
        dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
        if dangling:
            table, rowid, parent, _ = dangling[0]
            raise BackupError(f"{label} has {len(dangling)} rows whose foreign keys point nowhere "
                              f"(e.g. {table} row {rowid} → {parent})")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise BackupError(f"{label} is not a minegraph database (no table {', '.join(missing)})")
        mines = conn.execute("SELECT count(*) FROM mine").fetchone()[0]
        audit = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    except sqlite3.DatabaseError as error:  # e.g. "file is not a database"
        raise BackupError(f"{label} is not a readable SQLite database: {error}") from None
    return mines, audit


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_sqlite(source: sqlite3.Connection, temp: Path, label: str) -> tuple[int, int]:
    """Copy `source` into the new file `temp` in one backup step; check it; fsync it."""
    copy = sqlite3.connect(temp)
    try:
        # One step: the whole copy is read in one read transaction, i.e. one consistent
        # snapshot; in WAL mode the service's writers are not blocked meanwhile.
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        counts = _checked(copy, label)
    finally:
        copy.close()
    _fsync(temp)
    return counts


def _temp_beside(path: Path, purpose: str) -> Path:
    return path.with_name(f".{path.name}.{purpose}-{os.getpid()}")


def _sqlite_backup(database: Path, target: Path) -> Summary:
    started = time.perf_counter()
    if not database.is_file():
        raise BackupError(f"{database}: no such database (DATABASE_URL); nothing to back up")
    if target == database:
        raise BackupError("the backup must go to another file than the database itself")
    temp = _temp_beside(target, "partial")
    try:
        source = _open_readonly(database)
        try:
            mines, audit = _copy_sqlite(source, temp, f"the copy of {database}")
        finally:
            source.close()
        os.replace(temp, target)
        _fsync(target.parent)
    except sqlite3.Error as error:
        raise BackupError(f"could not back up {database}: {error}") from None
    finally:
        temp.unlink(missing_ok=True)
    return Summary("backup", "sqlite", target, str(database), target.stat().st_size,
                   time.perf_counter() - started, mines, audit)


def _holders(path: Path) -> list[str]:
    """Other processes with `path` (or its -wal) open, as "pid (command)"; best effort, Linux only."""
    wanted = {str(path), f"{path}-wal"}
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in wanted for fd in (entry / "fd").iterdir()):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                found.append(f"{entry.name} ({command[:80]})")
        except OSError:  # gone meanwhile, or not ours to look at
            continue
    return found


def _sqlite_restore(source: Path, database: Path, force: bool) -> Summary:
    started = time.perf_counter()
    label = f"the backup {source}"
    if source.resolve() == database.resolve():
        raise BackupError(f"{source} is the database itself: restore from a backup file")
    try:
        reader = _open_readonly(source)
    except sqlite3.Error as error:
        raise BackupError(f"{label} cannot be opened: {error}") from None
    try:
        _checked(reader, label)  # refuse a damaged or foreign file before touching anything
        exists = database.exists() or Path(f"{database}-wal").exists()
        if exists and not force:
            raise BackupError(f"{database} already exists: stop the service, then pass --force to replace it "
                              "with the backup")
        holders = _holders(database) if exists else []
        if holders:
            raise BackupError(f"{database} is open in process {', '.join(holders)}: stop the service first")
        database.parent.mkdir(parents=True, exist_ok=True)
        temp = _temp_beside(database, "restoring")
        try:
            mines, audit = _copy_sqlite(reader, temp, f"the restored copy of {source}")
            # The old database's WAL must never be applied to the new file: remove it first.
            for leftover in (Path(f"{database}-wal"), Path(f"{database}-shm"), Path(f"{database}-journal")):
                leftover.unlink(missing_ok=True)
            os.replace(temp, database)
            _fsync(database.parent)
        except sqlite3.Error as error:
            raise BackupError(f"could not restore {source}: {error}") from None
        finally:
            temp.unlink(missing_ok=True)
    finally:
        reader.close()
    return Summary("restore", "sqlite", source, str(database), database.stat().st_size,
                   time.perf_counter() - started, mines, audit)


# --------------------------------------------------------------------------- PostgreSQL


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


def _pg_backup(url: URL, target: Path) -> Summary:
    started = time.perf_counter()
    pg_dump = _pg_tool("pg_dump")
    args, env = _pg_connection(url)
    temp = _temp_beside(target, "partial")
    try:
        # pg_dump reads everything in one repeatable-read transaction: a consistent snapshot.
        _run([pg_dump, "--format=custom", f"--file={temp}", *args], env, f"pg_dump of {url.database}")
        _fsync(temp)
        os.replace(temp, target)
        _fsync(target.parent)
    finally:
        temp.unlink(missing_ok=True)
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


def _pg_restore(url: URL, source: Path, force: bool) -> Summary:
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
