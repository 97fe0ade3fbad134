"""The audit CLI (`minegraph audit`): listing records by username, action, mine, client and time,
phones masked unless asked, bad input refused, purging, and listing and lifting lockouts.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from support import servers
from support import sqldb


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("audit-cli")
    with sqldb.fresh_database(workdir) as database:
        servers.seed(database, 200, cwd=workdir)  # a scratch folder: no .env of the developer's (retention)
        db = database.connect()
        mine = db.execute("SELECT id, code FROM mine ORDER BY id LIMIT 1").fetchone()
        account = db.execute("SELECT id FROM account WHERE username = '000000-001'").fetchone()[0]
        now = datetime.now(UTC)
        rows = [
            (now - timedelta(days=400), account, "000000-001", "account.login", None, None, None, '{"via": "password"}', "1.2.3.4"),
            (now - timedelta(days=3), None, "nobody", "account.login_failed", None, None, None, None, "5.6.7.8"),
            (now - timedelta(days=2), account, "000000-001", "account.login_failed", None, None, None, None, "5.6.7.8"),
            (now - timedelta(days=1), account, "000000-001", "account.locked", None, None, None,
             '{"scope": "address", "minutes": 1}', "5.6.7.8"),
            (now - timedelta(hours=1), account, "000000-001", "mine.guarantor", mine["id"], "guarantor.COUNTY",
             '{"name": "王芳", "phone": "13800138000"}', '{"name": "李建国", "phone": "13912345678"}', "9.9.9.9"),
        ]
        for row in rows:
            db.execute("INSERT INTO audit_log (at, account_id, username, action, mine_id, field, old_value, new_value, "
                       "client) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        db.commit()
        db.close()
        yield SimpleNamespace(database=database, workdir=workdir, mine_id=mine["id"], mine_code=mine["code"])


def _audit(cli_database, *args: str) -> subprocess.CompletedProcess:
    return servers.cli(cli_database.database, "audit", *args, cwd=cli_database.workdir)


def _json_lines(done: subprocess.CompletedProcess) -> list[dict]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_audit_cli_queries_by_username_action_mine_and_time(cli_database):
    mine = _json_lines(_audit(cli_database, "list", "--mine", cli_database.mine_code, "--json"))
    assert [e["action"] for e in mine] == ["mine.guarantor"] and mine[0]["mineId"] == cli_database.mine_id
    assert mine == _json_lines(_audit(cli_database, "list", "--mine", str(cli_database.mine_id), "--json"))
    failures = _json_lines(_audit(cli_database, "list", "--action", "account.login_failed", "--json"))
    assert {e["username"] for e in failures} == {"nobody", "000000-001"}
    mine_only = _json_lines(_audit(cli_database, "list", "-u", "000000-001", "--action", "account.*", "--json"))
    assert [e["action"] for e in mine_only] == ["account.locked", "account.login_failed", "account.login"]  # newest first
    recent = _json_lines(_audit(cli_database, "list", "--since", "2d", "--json"))
    assert {e["action"] for e in recent} >= {"account.locked", "mine.guarantor"}
    assert "account.login" not in {e["action"] for e in recent}
    today = datetime.now(UTC).date()
    window = _json_lines(_audit(cli_database, "list", "--since", (today - timedelta(days=500)).isoformat(),
                                "--until", (today - timedelta(days=300)).isoformat(), "--json"))
    assert [e["action"] for e in window] == ["account.login"] and window[0]["at"].endswith("+08:00")
    limited = _json_lines(_audit(cli_database, "list", "--limit", "2", "--json"))
    assert len(limited) == 2
    by_client = _json_lines(_audit(cli_database, "list", "--client", "5.6.7.8", "--json"))
    assert len(by_client) == 3


def test_audit_cli_masks_phones_unless_asked(cli_database):
    table = _audit(cli_database, "list", "--action", "mine.guarantor")
    assert table.returncode == 0, table.stderr
    assert "13912345678" not in table.stdout and "139****5678" in table.stdout and "138****8000" in table.stdout
    assert "guarantor.COUNTY" in table.stdout and table.stdout.startswith("at ")
    shown = _json_lines(_audit(cli_database, "list", "--action", "mine.guarantor", "--json", "--show-phones"))
    assert shown[0]["new"]["phone"] == "13912345678" and shown[0]["old"]["phone"] == "13800138000"


def test_audit_cli_refuses_bad_input(cli_database):
    bad_time = _audit(cli_database, "list", "--since", "last tuesday")
    assert bad_time.returncode == 2 and "2026-05-01" in bad_time.stderr
    unknown_mine = _audit(cli_database, "list", "--mine", "C0000000000")
    assert unknown_mine.returncode == 2 and "unknown mine code" in unknown_mine.stderr


def test_audit_cli_purge_lockouts_and_unlock(cli_database):
    dry = _audit(cli_database, "purge", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("1 audit records are older than"), dry.stdout
    done = _audit(cli_database, "purge")
    assert done.returncode == 0 and done.stdout.startswith("deleted 1 audit records"), done.stdout
    assert not [e for e in _json_lines(_audit(cli_database, "list", "--json")) if e["action"] == "account.login"]
    db = cli_database.database.connect()
    try:
        until = datetime.now(UTC) + timedelta(minutes=5)
        db.execute("INSERT INTO login_failure (username, client, failures, lockouts, locked_until) "
                   "VALUES ('000000-002', '*', 0, 2, ?)", (until,))
        db.commit()
        listed = _audit(cli_database, "lockouts")
        assert listed.returncode == 0 and "000000-002" in listed.stdout and "*" in listed.stdout
        unlocked = _audit(cli_database, "unlock", "000000-002")
        assert unlocked.returncode == 0, unlocked.stderr
        assert db.execute("SELECT locked_until, lockouts FROM login_failure WHERE username = '000000-002'").fetchone() \
            == (None, 0)
    finally:
        db.close()
    assert "000000-002" not in _audit(cli_database, "lockouts").stdout
    assert [e["action"] for e in _json_lines(_audit(cli_database, "list", "-u", "000000-002", "--json"))] == \
        ["account.unlocked"]
