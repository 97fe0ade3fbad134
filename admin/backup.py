"""Backups of the service's database, taken while it serves, and restores of them.

This module is the public API (`backup`, `restore`, `BackupError`, `Summary`): it checks the
paths it is given and hands over to the backend's implementation:

- SQLite (admin/backup_sqlite.py): the online backup API in one step, i.e. one consistent
  snapshot while WAL writers carry on, checked (integrity, foreign keys) and renamed into place;
  a restore needs the service stopped and refuses while another process has the file open.
- PostgreSQL (admin/backup_postgres.py): `pg_dump --format=custom` and `pg_restore` into an
  empty database in one transaction; both need the PostgreSQL client programs on the PATH.

The cursor-signing key kept beside an SQLite database (`.secret_key`) is not part of a backup: a
restore under another directory gets a new one, which only invalidates page cursors in flight.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from admin.backup_common import BackupError, Summary
from admin.backup_postgres import backup_postgres, restore_postgres
from admin.backup_sqlite import backup_sqlite, restore_sqlite, sqlite_file

__all__ = ["BackupError", "Summary", "backup", "restore"]


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
        return backup_sqlite(sqlite_file(url), target)
    if url.get_backend_name() == "postgresql":
        return backup_postgres(url, target)
    raise BackupError(f"backups of {url.get_backend_name()} databases are not supported (SQLite and PostgreSQL are)")


def restore(database_url: str, source: Path, *, force: bool = False) -> Summary:
    """Replace DATABASE_URL's database with the backup at `source` (the service must be stopped)."""
    url = make_url(database_url)
    source = Path(source).expanduser().absolute()
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    if url.get_backend_name() == "sqlite":
        return restore_sqlite(source, sqlite_file(url), force)
    if url.get_backend_name() == "postgresql":
        return restore_postgres(url, source, force)
    raise BackupError(f"restores into {url.get_backend_name()} databases are not supported (SQLite and PostgreSQL are)")
