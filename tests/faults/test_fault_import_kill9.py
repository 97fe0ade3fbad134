"""Faults: the server SIGKILLed while it applies a large spreadsheet import (both backends).

Applying an import is all or nothing in one transaction (docs/import-format.md, issue 12). A real
`minegraph serve` on a freshly seeded registry is sent the whole registry's export with one field
edited in every row (POST /import, apply=true); once the applying transaction is seen writing —
on PostgreSQL a backend of the server holding a write lock on table mine, on SQLite the write lock
held while the -wal file has grown by more than the request's own bookkeeping, or held longer than
any of its small writes — the server's
process group gets SIGKILL. After the restart nothing of the file may be there: no mine changed,
no applied mine_import row, no audit record of an import. The same file imported again then
applies completely: every row changed exactly once.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import threading
import time

import httpx

from support import servers
from support import sqldb
from support.fault_report import report
from support.fault_server import Server
from support.fault_targets import login
from support.sheet_files import csv_bytes
from spreadsheets.columns import COLUMNS

MINES = 2500
LABELS = tuple(c.label for c in COLUMNS)
# More than a session's or a login's own writes (a few 4 KB pages): only the applying transaction,
# whose dirty pages overflow SQLite's page cache into the -wal file before it commits, writes this much.
WAL_GROWTH = 256 * 1024
# Or the write lock seen held this long without a break (a session's or a login's write takes
# milliseconds; the apply of 2,500 rows holds it for the whole transaction).
LOCK_HELD_S = 0.2
APPLY_TIMEOUT_S = 300
MINE_WRITE_LOCK = """SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
  WHERE l.relation = 'mine'::regclass AND l.mode = 'RowExclusiveLock' AND l.granted
    AND a.datname = current_database() AND a.pid <> pg_backend_pid()"""


def _edited_export(base: str, token: str) -> tuple[bytes, int]:
    """The whole registry as CSV, 单班下井作业人数 plus one in every row: (the file, its rows)."""
    response = httpx.get(f"{base}/export/mines.csv", headers={"Authorization": f"Bearer {token}"},
                         timeout=120, trust_env=False)
    assert response.status_code == 200, response.text
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert tuple(table[0]) == LABELS
    rows = [dict(zip(LABELS, r)) for r in table[1:]]
    for row in rows:
        row["单班下井作业人数"] = str(int(row["单班下井作业人数"]) + 1)
    return csv_bytes(rows, header=LABELS), len(rows)


def _post_import(base: str, token: str, data: bytes, answer: dict) -> None:
    """POST /import apply=true; records the status, or the transport error when the server died."""
    try:
        response = httpx.post(f"{base}/import", headers={"Authorization": f"Bearer {token}"},
                              files={"file": ("registry.csv", data)}, data={"apply": "true"},
                              timeout=APPLY_TIMEOUT_S, trust_env=False)
        answer["status"] = response.status_code
        answer["body"] = response.json() if response.status_code == 200 else response.text
    except httpx.HTTPError as error:
        answer["error"] = type(error).__name__


class ApplyUnderWay:
    """Polls the database from outside the server for the applying transaction at work."""

    def __init__(self, database: sqldb.Database) -> None:
        self.database = database
        self.wal = f"{database.name}-wal"
        self.baseline = self._wal_size()
        self.locked_since: float | None = None

    def _wal_size(self) -> int:
        return os.path.getsize(self.wal) if os.path.exists(self.wal) else 0

    def _write_locked(self) -> bool:
        probe = sqlite3.connect(self.database.name, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()

    def reached(self) -> bool:
        if self.database.postgresql:
            return self.database.one(MINE_WRITE_LOCK)[0] > 0
        # Inside the transaction only while its write lock is held (a commit frees it), and known
        # for the apply's when the -wal file has grown past a request's bookkeeping, or when the lock
        # stays held longer than any of those small writes: an apply whose dirty pages all fit in
        # SQLite's page cache writes the -wal only as it commits.
        if not self._write_locked():
            self.locked_since = None
            return False
        now = time.monotonic()
        self.locked_since = self.locked_since or now
        return self._wal_size() - self.baseline >= WAL_GROWTH or now - self.locked_since >= LOCK_HELD_S


def _registry(database: sqldb.Database) -> dict[int, tuple[int, int]]:
    return {r[0]: (r[1], r[2]) for r in database.rows("SELECT id, version, workers_per_shift FROM mine")}


def _imports_applied(database: sqldb.Database) -> int:
    return database.one("SELECT count(*) FROM mine_import WHERE applied = ?", True)[0]


def test_kill_9_during_an_import_applies_nothing_then_the_file_applies_whole(tmp_path):
    with sqldb.fresh_database(tmp_path) as database:
        servers.seed(database, MINES)
        server = Server(database, tmp_path / "serve.log").start()
        try:
            token = login(server.base, "000000-001")  # sessions live in the database: it survives the kill
            data, rows = _edited_export(server.base, token)
            before = _registry(database)
            assert rows == len(before)
            watch = ApplyUnderWay(database)
            answer: dict = {}
            started = time.monotonic()
            sender = threading.Thread(target=_post_import, args=(server.base, token, data, answer))
            sender.start()
            reached = False
            while sender.is_alive() and time.monotonic() - started < APPLY_TIMEOUT_S:
                if watch.reached():
                    reached = True
                    break
                time.sleep(0.02)
            under_way_s = time.monotonic() - started
            server.kill()
            sender.join(60)
            assert reached, f"the apply was never seen under way: {answer}"
            assert answer.get("status") != 200, "the import finished before the kill: nothing was tested"

            server.start()
            assert _registry(database) == before, "a mine changed: the killed import was half applied"
            assert _imports_applied(database) == 0
            assert database.one("SELECT count(*) FROM audit_log WHERE import_id IS NOT NULL")[0] == 0

            again: dict = {}
            applied_at = time.monotonic()
            _post_import(server.base, token, data, again)
            apply_s = time.monotonic() - applied_at
            assert again.get("status") == 200, again
            outcome = again["body"]
            assert (outcome["applied"], outcome["changed"], outcome["rejected"]) == (True, rows, 0)
            after = _registry(database)
            assert all(after[i] == (v + 1, w + 1) for i, (v, w) in before.items()), "a mine not changed exactly once"
            audited = database.one("SELECT count(*) FROM audit_log WHERE import_id = ? AND field = ?",
                                   int(outcome["id"]), "workersPerShift")[0]
            assert (audited, _imports_applied(database)) == (rows, 1)
            assert "Traceback" not in server.log_text(), servers.tail(server.log_path)
        finally:
            server.stop()
    report(f"import-kill9[{sqldb.BACKEND}]", {
        "backend": sqldb.BACKEND, "rows": rows, "killed_after_s": round(under_way_s, 2),
        "kill_answer": answer.get("error") or answer.get("status"), "full_apply_s": round(apply_s, 2)})
