"""The one-time CSV of initial passwords handed to a region's account holders.

The passwords exist in clear only here, so the file must neither be lost nor
lie. The order of events is:

1. write every row to `<path>.pending` (created exclusively, mode 0600, fsynced);
2. commit the accounts to the database;
3. hard-link the pending file to `<path>` (fails rather than overwrite) and
   remove the pending name.

If the commit fails, the pending file is deleted: no file names passwords the
database does not hold. If step 3 fails, or the process dies between 2 and 3,
the passwords survive in `<path>.pending`, and the next run refuses to start
until someone has looked at it, so they are not silently lost either.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import BadUserInput, MinegraphError

if TYPE_CHECKING:
    from collections.abc import Iterable

HEADER = ("username", "password")


class PasswordSheet:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.pending = self.path.with_name(self.path.name + ".pending")

    def check_free(self) -> None:
        """BadUserInput unless both names are free and the folder exists (before any work)."""
        if self.path.exists() or self.path.is_symlink():
            raise BadUserInput(f"文件已存在，不会覆盖：{self.path} / {self.path} already exists and is never "
                               "overwritten: choose a new file name (and destroy the old sheet once handed over)")
        if self.pending.exists() or self.pending.is_symlink():
            raise BadUserInput(f"上次运行遗留了文件 {self.pending} / a previous run left {self.pending}: its accounts "
                               "may have been created with the passwords it holds; hand it over or delete it, "
                               "then run again")
        if not self.path.parent.is_dir():
            raise BadUserInput(f"目录不存在：{self.path.parent} / the folder {self.path.parent} does not exist")

    def write_pending(self, rows: Iterable[tuple[str, str]]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
        # O_EXCL: never follow a planted symlink or reuse a file someone else opened.
        fd = os.open(self.pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)  # the umask can only narrow the mode; make it exact anyway
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                fd = -1
                handle.write(buffer.getvalue())
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            if fd >= 0:
                os.close(fd)
            self.discard()
            raise

    def discard(self) -> None:
        self.pending.unlink(missing_ok=True)

    def publish(self) -> None:
        """Give the pending file its final name, never replacing an existing file."""
        try:
            os.link(self.pending, self.path)
        except OSError as error:
            raise MinegraphError(
                f"账号已创建，但无法把 {self.pending} 改名为 {self.path} / the accounts were created, but "
                f"{self.pending} could not be renamed to {self.path} ({error.strerror}): the passwords are in "
                f"{self.pending}; hand that file over instead") from None
        self.pending.unlink()
        _fsync_dir(self.path.parent)


def _fsync_dir(folder: Path) -> None:
    # Makes the new name durable; some filesystems cannot open a folder, which only costs durability.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
