"""Faults: SQLite's write lock held elsewhere (the TEST_DATABASE=sqlite run).

Another process holds SQLite's write lock longer than the service's busy timeout: reads keep being
served (WAL), a write waits the busy timeout and is then answered with a coded error and not
applied, and writes work again once the lock is gone.

Figures are printed and merged into $FAULT_REPORT (JSON) when set.
"""

from __future__ import annotations

import sqlite3

import pytest

from support import servers
from support import sqldb
from support.fault_probe import probe, succeeded
from support.fault_report import report
from support.fault_server import Server
from support.fault_targets import login

MINES = 300


@pytest.fixture(scope="module")
def sqlite_lock(tmp_path_factory):
    """Serve an SQLite database, hold its write lock from another process for longer than the busy
    timeout, probe, release, probe again: what happened."""
    if not sqldb.SQLITE:
        pytest.skip("SQLite's write lock: runs in the TEST_DATABASE=sqlite run")
    directory = tmp_path_factory.mktemp("sqlite-lock")
    with sqldb.fresh_database(directory) as database:
        servers.seed(database, MINES)
        mine_id, code = database.one("SELECT id, code FROM mine ORDER BY id LIMIT 1")
        server = Server(database, directory / "serve.log", SQLITE_BUSY_TIMEOUT_MS="5000").start()
        try:
            token, owner = login(server.base, "000000-001"), login(server.base, code)
            before = probe(server.base, token, owner, mine_id)  # also warms the write path up
            version = database.one("SELECT version FROM mine WHERE id = ?", mine_id)[0]
            holder = sqlite3.connect(database.name, isolation_level=None, timeout=30)
            holder.execute("BEGIN IMMEDIATE")  # an operator's open write transaction (WAL: readers unaffected)
            try:
                during = probe(server.base, token, owner, mine_id)
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            after = probe(server.base, token, owner, mine_id)
            yield {"before": before, "during": during, "after": after, "version": version,
                   "alive": server.alive()}
        finally:
            server.stop()


def test_sqlite_write_lock_held_elsewhere_reads_go_on_writes_fail_then_recover(sqlite_lock):
    before, during, after = sqlite_lock["before"], sqlite_lock["during"], sqlite_lock["after"]
    assert all(succeeded(before[name]) for name in ("dashboard", "mine", "login", "write")), before
    assert sqlite_lock["alive"]
    for name in ("dashboard", "mine"):
        assert succeeded(during[name]), (name, during[name])  # WAL: reads go on (a blocked one would fail after 5 s)
    write = during["write"]
    assert write["status"] is not None and not succeeded(write), write
    assert 4.5 < write["seconds"] < 30, write  # waited the 5 s busy timeout, then gave up
    assert all(succeeded(after[name]) for name in ("dashboard", "mine", "login", "write")), after
    assert after["write"]["data"]["updateMineLocation"]["version"] == sqlite_lock["version"] + 1  # nothing left
    report("sqlite-lock-held", {
        "reads_during": "ok",
        "write_during": f"HTTP {write['status']} {','.join(map(str, write['codes']))} after {write['seconds']:.1f} s",
        "login_during": f"HTTP {during['login']['status']} {','.join(map(str, during['login']['codes'])) or 'ok'}",
        "write_message": (write["messages"] or [write.get("text")])[0],
        "recovered": True,
    })


def test_sqlite_write_lock_held_elsewhere_answers_with_a_clear_coded_error(sqlite_lock):
    for name in ("write", "login"):
        answer = sqlite_lock["during"][name]
        assert answer["status"] in (200, 503) and answer["codes"] == ["INTERNAL"], (name, answer)
        assert "database" in " ".join(answer["messages"]).lower(), (name, answer)
        assert all(answer["request_ids"]), (name, answer)
