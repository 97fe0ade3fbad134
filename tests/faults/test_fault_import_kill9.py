"""Faults: the server SIGKILLed while it applies a large spreadsheet import (both backends).

Applying an import is all or nothing in one transaction (docs/import-format.md, issue 12). A real
`minegraph serve` on a freshly seeded registry is sent the whole registry's export with one field
edited in every row (POST /import, apply=true); once the applying transaction is seen under way —
a write lock held by the server (on PostgreSQL a RowExclusiveLock on table mine, on SQLite the
database's write lock: the import request writes nothing else, its session being fresh) — the
server's process group gets SIGKILL. After the restart nothing of the file may be there: no mine
changed, no applied mine_import row, no audit record of an import. The same file imported again then
applies completely: every row changed exactly once.

No timing threshold decides anything: the lock is either seen or not. A fast machine can still
commit in the moment between seeing the lock and the kill; such an attempt proves nothing and is
made again (the registry is exported afresh), up to ATTEMPTS times.
"""

from __future__ import annotations

import csv
import io
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
ATTEMPTS = 3
POLL_S = 0.005  # the apply of 2,500 rows holds its lock for many polls, even on a fast machine
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
    """Polls the database from outside the server for a write transaction at work."""

    def __init__(self, database: sqldb.Database) -> None:
        self.database = database

    def _sqlite_write_locked(self) -> bool:
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
        return self._sqlite_write_locked()


def _registry(database: sqldb.Database) -> dict[int, tuple[int, int]]:
    return {r[0]: (r[1], r[2]) for r in database.rows("SELECT id, version, workers_per_shift FROM mine")}


def _import_audits(database: sqldb.Database) -> int:
    return database.one("SELECT count(*) FROM audit_log WHERE import_id IS NOT NULL")[0]


def _imports_applied(database: sqldb.Database) -> int:
    return database.one("SELECT count(*) FROM mine_import WHERE applied = ?", True)[0]


def _kill_during_apply(server: Server, database: sqldb.Database) -> dict | None:
    """One attempt: post the edited export and SIGKILL the server once the apply is seen under way.
    What it saw, or None when the import committed before the kill (nothing was tested)."""
    token = login(server.base, "000000-001")  # a fresh session: no last-seen write during the import
    data, rows = _edited_export(server.base, token)
    before, imports_before = _registry(database), _imports_applied(database)
    audits_before = _import_audits(database)
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
        time.sleep(POLL_S)
    under_way_s = time.monotonic() - started
    server.kill()
    sender.join(60)
    if answer.get("status") == 200 or _imports_applied(database) > imports_before:
        return None
    assert reached, f"the import ended without being seen under way or answering: {answer}"
    return {"token": token, "data": data, "rows": rows, "before": before, "imports": imports_before,
            "audits": audits_before, "answer": answer, "under_way_s": under_way_s}


def test_kill_9_during_an_import_applies_nothing_then_the_file_applies_whole(tmp_path):
    with sqldb.fresh_database(tmp_path) as database:
        servers.seed(database, MINES)
        server = Server(database, tmp_path / "serve.log").start()
        try:
            for attempt in range(1, ATTEMPTS + 1):
                seen = _kill_during_apply(server, database)
                server.start()
                if seen is not None:
                    break
            assert seen is not None, f"the import committed before the kill in all {ATTEMPTS} attempts"
            token, data, rows, before = seen["token"], seen["data"], seen["rows"], seen["before"]
            assert _registry(database) == before, "a mine changed: the killed import was half applied"
            assert _imports_applied(database) == seen["imports"]
            assert _import_audits(database) == seen["audits"]

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
            assert (audited, _imports_applied(database)) == (rows, seen["imports"] + 1)
            assert "Traceback" not in server.log_text(), servers.tail(server.log_path)
        finally:
            server.stop()
    report(f"import-kill9[{sqldb.BACKEND}]", {
        "backend": sqldb.BACKEND, "rows": rows, "attempts": attempt, "killed_after_s": round(seen["under_way_s"], 2),
        "kill_answer": seen["answer"].get("error") or seen["answer"].get("status"), "full_apply_s": round(apply_s, 2)})
