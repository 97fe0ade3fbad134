"""SQLite backups with the online backup API, and restores of them.

`backup_sqlite` copies a consistent snapshot with SQLite's online backup API in one step (one
read transaction, so in WAL mode writers carry on beside it and the copy is the database as of
one commit). The copy goes to a temporary file beside the target, is checked
(`PRAGMA integrity_check`, `PRAGMA foreign_key_check`), made a single self-contained file
(journal mode DELETE, no `-wal` beside it), fsynced and renamed into place, so a crash never
leaves a half-written backup under the target's name.

`restore_sqlite` checks the backup the same way, copies it to a temporary file beside
DATABASE_URL's file and renames it into place (after removing the old database's `-wal`/`-shm`,
which must never be applied to another file). The service must be stopped: a process that still
has the old file open would go on writing to it. On Linux, the restore refuses while another
process has the database open.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from sqlalchemy.engine import URL

from admin.backup_common import BackupError, Summary, fsync_path, written_into_place

# Tables that make a file a minegraph database (checked before a restore replaces anything).
REQUIRED_TABLES = ("alembic_version", "mine", "region", "account", "audit_log")
LOCK_WAIT_S = 30.0


def sqlite_file(url: URL) -> Path:
    """The database file DATABASE_URL names (an in-memory or URI database has none to copy)."""
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
    fsync_path(temp)
    return counts


def backup_sqlite(database: Path, target: Path) -> Summary:
    started = time.perf_counter()
    if not database.is_file():
        raise BackupError(f"{database}: no such database (DATABASE_URL); nothing to back up")
    if target == database:
        raise BackupError("the backup must go to another file than the database itself")
    try:
        with written_into_place(target, "partial") as temp:
            source = _open_readonly(database)
            try:
                mines, audit = _copy_sqlite(source, temp, f"the copy of {database}")
            finally:
                source.close()
    except sqlite3.Error as error:
        raise BackupError(f"could not back up {database}: {error}") from None
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


def restore_sqlite(source: Path, database: Path, force: bool) -> Summary:
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
        try:
            with written_into_place(database, "restoring") as temp:
                mines, audit = _copy_sqlite(reader, temp, f"the restored copy of {source}")
                # The old database's WAL must never be applied to the new file: remove it
                # before the copy is renamed into place.
                for leftover in (Path(f"{database}-wal"), Path(f"{database}-shm"), Path(f"{database}-journal")):
                    leftover.unlink(missing_ok=True)
        except sqlite3.Error as error:
            raise BackupError(f"could not restore {source}: {error}") from None
    finally:
        reader.close()
    return Summary("restore", "sqlite", source, str(database), database.stat().st_size,
                   time.perf_counter() - started, mines, audit)
