"""What the SQLite and PostgreSQL backup paths share: the error they raise, the summary they
return, and writing a file so that a crash never leaves it half-written under its final name."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


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


def fsync_path(path: Path) -> None:
    """Flush a file (or a directory, after a rename in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_beside(path: Path, purpose: str) -> Path:
    """A temporary name in `path`'s directory, so that renaming it onto `path` is atomic."""
    return path.with_name(f".{path.name}.{purpose}-{os.getpid()}")


@contextmanager
def written_into_place(final: Path, purpose: str) -> Iterator[Path]:
    """Yield a temporary path beside `final` for the block to write (and fsync) completely; then
    rename it onto `final` and fsync the directory. If the block fails, the temporary file is
    removed and `final` is left as it was."""
    temp = _temp_beside(final, purpose)
    try:
        yield temp
        os.replace(temp, final)
        fsync_path(final.parent)
    finally:
        temp.unlink(missing_ok=True)
