"""`minegraph backup` while the service serves writes, `minegraph restore`, and the restored copy served.

A real `minegraph serve` on a freshly seeded database takes a stream of versioned writes (the same
writers as the kill -9 test). Twice during the stream, `minegraph backup` runs as its own process.
Each backup must be one consistent snapshot:
- SQLite: the file passes `PRAGMA integrity_check` and `PRAGMA foreign_key_check`; on PostgreSQL the
  custom-format archive restores (`pg_restore` re-creates every foreign key, so dangling rows would
  fail it) and an explicit orphan check finds nothing;
- for every mine, versions gained since seeding == writes audited in the copy, every field holds the
  value of its last audited write in the copy (no write half in the copy), every audited write is one
  that was sent, and every write acknowledged before the backup started is in it;
- the reference data and accounts are all there (the same counts as the live database).
Then a backup is restored with `minegraph restore` into a new database (SQLite: a new file, which a
second restore without --force refuses to replace; PostgreSQL: a new empty database), served by
`minegraph serve`, and answers a query with the versions the copy holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
import subprocess
from pathlib import Path

import httpx

from support import servers
from support import sqldb
from support.fault_report import report
from support.fault_server import Server
from support.fault_targets import login, target_tokens, write_targets, writer_plan
from support.fault_verify import Baseline, verify
from support.fault_writes import WriteLog

MINES = 300
COUNTED = ("mine", "region", "mineral_type", "account")
MINE_VERSION = "query Mine($id: ID!) { mine(id: $id) { id version } }"


async def _writes_with_backups(server: Server, database: sqldb.Database, targets, tokens, log: WriteLog,
                               paths: list[Path]) -> list[tuple[set[str], subprocess.CompletedProcess]]:
    """Stream writes; once they flow, run `minegraph backup` to each path in turn. Returns, per backup,
    the writes acknowledged before it started and the command's result."""
    stop, flowing = asyncio.Event(), asyncio.Event()
    taken = []
    async with httpx.AsyncClient(base_url=server.base, timeout=60, trust_env=False) as client:

        async def writer(mine_id: int, kind: str, token: str) -> None:
            while not stop.is_set():
                write = await log.send(client, log.new(mine_id, kind), token)
                assert write.acked, (write, log.unexpected)
                if len(log.acked) >= 10:
                    flowing.set()

        tasks = [asyncio.create_task(writer(*plan)) for plan in writer_plan(targets, tokens)]
        try:
            await asyncio.wait_for(flowing.wait(), 120)
            for path in paths:
                before = {w.rid for w in log.acked}
                done = await asyncio.to_thread(servers.cli, database, "backup", str(path))
                taken.append((before, done))
                await asyncio.sleep(0.5)  # more writes between the backups, and after the last
        finally:
            stop.set()
            await asyncio.gather(*tasks)
    return taken


def _counts(database: sqldb.Database) -> dict[str, int]:
    return {table: database.one(f"SELECT count(*) FROM {table}")[0] for table in COUNTED}


def _orphans(database: sqldb.Database) -> int:
    """Rows whose reference points nowhere (what foreign keys forbid), counted the same on both backends."""
    checks = [
        ("audit_log", "mine_id", "mine"), ("audit_log", "account_id", "account"),
        ("guarantor", "mine_id", "mine"), ("guarantor", "entered_by", "account"), ("account", "mine_id", "mine"),
    ]
    total = 0
    for table, column, parent in checks:
        total += database.one(
            f"SELECT count(*) FROM {table} c LEFT JOIN {parent} p ON c.{column} = p.id "
            f"WHERE c.{column} IS NOT NULL AND p.id IS NULL")[0]
    return total


def _sqlite_checks(path: Path) -> None:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    finally:
        conn.close()
    assert not Path(f"{path}-wal").exists()


def _restored(tmp_path: Path, stack, name: str) -> sqldb.Database:
    return stack.enter_context(sqldb.fresh_database(tmp_path / name, name))


def test_backup_while_writing_is_consistent_and_restores(tmp_path):
    with contextlib.ExitStack() as stack:
        database = stack.enter_context(sqldb.fresh_database(tmp_path / "live"))
        servers.seed(database, MINES)
        baseline = Baseline.take(database)
        counts = _counts(database)
        targets = write_targets(database)
        log = WriteLog(tag=f"b{secrets.token_hex(3)}")
        server = Server(database, tmp_path / "live.log").start()
        try:
            tokens = target_tokens(server.base, targets)
            paths = [tmp_path / "first.backup", tmp_path / "second.backup"]
            taken = asyncio.run(_writes_with_backups(server, database, targets, tokens, log, paths))
        finally:
            server.stop()
        live = verify(database, baseline, log)  # the live database lost nothing meanwhile
        assert "Traceback" not in server.log_text(), servers.tail(server.log_path)

        figures = {"backend": sqldb.BACKEND, "writes_acknowledged": live["acknowledged"], "backups": []}
        restored_dbs = []
        for (before, done), path in zip(taken, paths, strict=True):
            assert done.returncode == 0, done.stderr
            assert "backed up" in done.stdout, done.stdout
            if database.postgresql:
                restored = _restored(tmp_path, stack, f"restored_{path.stem}")
            else:
                _sqlite_checks(path)
                restored = sqldb.Database(f"sqlite+aiosqlite:///{tmp_path / path.stem}.sqlite3",
                                          str(tmp_path / f"{path.stem}.sqlite3"), tmp_path)
            done = servers.cli(restored, "restore", str(path))
            assert done.returncode == 0, done.stderr
            assert "restored" in done.stdout, done.stdout
            # The copy: consistent at one moment, holding everything acknowledged before it began.
            snapshot = verify(restored, baseline, log, snapshot_of=before)
            assert _orphans(restored) == 0
            assert _counts(restored) == counts
            figures["backups"].append({"acknowledged_before": len(before),
                                       "writes_in_copy": snapshot["audited_writes"], "half_applied": 0, "lost": 0})
            restored_dbs.append(restored)

        # A restore never replaces a database silently.
        again = servers.cli(restored_dbs[-1], "restore", str(paths[-1]))
        assert again.returncode == 2 and ("already exists" in again.stderr or "not empty" in again.stderr), again

        # The restored copy serves: a query answers with the versions the copy holds.
        restored = restored_dbs[-1]
        copy_server = Server(restored, tmp_path / "restored.log").start()
        try:
            token = login(copy_server.base, "000000-001")
            for mine_id, _owner, _clerk in targets:
                response = httpx.post(f"{copy_server.base}/graphql", timeout=60, trust_env=False,
                                      json={"query": MINE_VERSION, "variables": {"id": str(mine_id)}},
                                      headers={"Authorization": f"Bearer {token}"})
                body = response.json()
                assert response.status_code == 200 and not body.get("errors"), body
                assert body["data"]["mine"]["version"] == restored.one(
                    "SELECT version FROM mine WHERE id = ?", mine_id)[0]
        finally:
            copy_server.stop()
        report(f"backup[{sqldb.BACKEND}]", figures)
