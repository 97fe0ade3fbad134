"""`minegraph accounts …`: the real command in a subprocess, on a seeded database of its own."""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

from support import sqldb
from admin import accounts as accounts_module
from admin import password_sheet
from admin.accounts import ACCOUNTS_PER_REGION, create_region_accounts, generate_password
from auth.passwords import verify_password
from auth.validation import check_password_policy
from models.db import make_engine
from models.errors import BadUserInput, MinegraphError
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = Settings().demo_password


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("accounts")


@pytest.fixture(scope="module")
def database(workdir) -> sqldb.Database:
    with sqldb.fresh_database(workdir) as database:
        result = _cli(database, workdir, "seed", "--demo", "--mines", "200")
        assert result.returncode == 0, result.stderr
        yield database


def _cli(database: sqldb.Database, cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    # cwd is a scratch folder so that no .env of the developer's leaks in.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database.url, **settings}
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def run(database, workdir):
    return lambda *args: _cli(database, workdir, *args)


@pytest.fixture
def db(database):
    conn = database.connect()
    yield conn
    conn.close()


def _accounts(db, pattern: str) -> dict[str, sqldb.Row]:
    return {r["username"]: r for r in db.execute("SELECT * FROM account WHERE username LIKE ?", (pattern,))}


def _delete_accounts(db, where: str, *args) -> None:
    """Make accounts go missing, with the rows that point at them (their audit trail and sessions):
    the foreign keys hold on every backend."""
    ids = f"SELECT id FROM account WHERE {where}"
    for table in ("audit_log", "auth_session"):
        db.execute(f"DELETE FROM {table} WHERE account_id IN ({ids})", args)
    db.execute(f"DELETE FROM account WHERE {where}", args)
    db.commit()


def _read_sheet(path: Path) -> dict[str, str]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["username", "password"]
    return dict(rows[1:])


def _region_without_mines(db, level: str, column: str) -> str:
    return db.execute(
        f"SELECT code FROM region WHERE level = ? AND code NOT IN "
        f"(SELECT {column} FROM mine WHERE {column} IS NOT NULL) ORDER BY code LIMIT 1", (level,)).fetchone()[0]


# ----------------------------------------------------------------- list


def test_list_shows_the_regions_numbered_accounts_and_optionally_its_mines(run, db):
    county = db.execute("SELECT county_code FROM mine GROUP BY county_code ORDER BY count(*) DESC, county_code "
                        "LIMIT 1").fetchone()[0]
    mines = {r[0] for r in db.execute("SELECT code FROM mine WHERE county_code = ?", (county,))}
    plain = run("accounts", "list", county)
    assert plain.returncode == 0, plain.stderr
    header, *lines = plain.stdout.splitlines()
    assert header.split() == ["USERNAME", "TIER", "GUARANTOR", "WECHAT", "NAME", "MINE"]
    listed = [line.split()[0] for line in lines]
    assert listed == [f"{county}-{n:03d}" for n in range(1, 6)]
    assert lines[0].split()[1:3] == ["COUNTY", "COUNTY"]  # tier, guarantor role
    # Each header word starts where its column does.
    for word in ("TIER", "GUARANTOR", "WECHAT"):
        column = header.index(word)
        assert lines[0][column - 1] == " " and lines[0][column] != " ", (word, header, lines[0])

    with_mines = run("accounts", "list", county, "--with-mines")
    assert with_mines.stdout.splitlines()[0] == header
    listed = [line.split()[0] for line in with_mines.stdout.splitlines()[1:]]
    assert listed[:5] == [f"{county}-{n:03d}" for n in range(1, 6)]
    assert set(listed[5:]) == mines and len(listed) == 5 + len(mines)


def test_list_of_a_province_with_mines_covers_the_whole_province(run, db):
    province = db.execute("SELECT province_code FROM mine GROUP BY province_code ORDER BY count(*) DESC "
                          "LIMIT 1").fetchone()[0]
    mines = {r[0] for r in db.execute("SELECT code FROM mine WHERE province_code = ?", (province,))}
    result = run("accounts", "list", province, "--with-mines")
    listed = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert listed[:10] == [f"{province}-{n:03d}" for n in range(1, 11)]
    assert set(listed[10:]) == mines


@pytest.mark.parametrize("args", [("list", "999999"), ("list", "abc"), ("create", "999999", "--csv", "x.csv")])
def test_an_unknown_region_is_exit_code_2_with_a_message(run, workdir, args):
    result = run("accounts", *args)
    assert result.returncode == 2
    assert "unknown region code" in result.stderr and "未知的行政区划代码" in result.stderr
    assert not (workdir / "x.csv").exists() and not (workdir / "x.csv.pending").exists()


# ----------------------------------------------------------------- create


def test_create_makes_every_level_its_numbered_accounts(run, db, workdir):
    plan = {  # region -> (tier, role of -001, number of accounts)
        "000000": ("NATIONAL", None, 10),
        _region_without_mines(db, "PROVINCE", "province_code"): ("PROVINCE", "PROVINCE", 10),
        _region_without_mines(db, "CITY", "city_code"): ("CITY", "CITY", 5),
        _region_without_mines(db, "COUNTY", "county_code"): ("COUNTY", "COUNTY", 5),
    }
    for region in plan:  # regions without mines: no guarantor was entered by their accounts
        _delete_accounts(db, "username LIKE ?", f"{region}-%")

    for region, (tier, role, expected) in plan.items():
        sheet = workdir / f"{region}.csv"
        result = run("accounts", "create", region, "--csv", str(sheet))
        assert result.returncode == 0, result.stderr
        assert f"created {expected} accounts" in result.stdout
        assert stat.S_IMODE(sheet.stat().st_mode) == 0o600
        assert not Path(f"{sheet}.pending").exists()
        passwords = _read_sheet(sheet)
        assert list(passwords) == [f"{region}-{n:03d}" for n in range(1, expected + 1)]
        assert len(set(passwords.values())) == expected
        rows = _accounts(db, f"{region}-%")
        assert set(rows) == set(passwords)
        for username, password in passwords.items():
            row = rows[username]
            assert verify_password(row["password_hash"], password)
            assert (row["tier"], row["region_code"]) == (tier, region)
            assert row["guarantor_level"] == (role if username.endswith("-001") else None)
            check_password_policy(password, Settings(), username=username)


def test_create_adds_only_the_missing_accounts_and_never_overwrites_the_sheet(run, db, workdir):
    county = _region_without_mines(db, "COUNTY", "county_code")
    county = db.execute("SELECT code FROM region WHERE level = 'COUNTY' AND code > ? ORDER BY code LIMIT 1",
                        (county,)).fetchone()[0]
    kept = _accounts(db, f"{county}-%")
    _delete_accounts(db, "username IN (?, ?)", f"{county}-004", f"{county}-005")

    sheet = workdir / "partial.csv"
    first = run("accounts", "create", county, "--csv", str(sheet))
    assert first.returncode == 0, first.stderr
    passwords = _read_sheet(sheet)
    assert list(passwords) == [f"{county}-004", f"{county}-005"]
    now = _accounts(db, f"{county}-%")
    for username in (f"{county}-001", f"{county}-002", f"{county}-003"):
        assert now[username]["password_hash"] == kept[username]["password_hash"]  # untouched

    # The sheet exists: the command refuses before changing anything.
    _delete_accounts(db, "username = ?", f"{county}-005")
    before = sheet.read_bytes()
    again = run("accounts", "create", county, "--csv", str(sheet))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert sheet.read_bytes() == before
    assert f"{county}-005" not in _accounts(db, f"{county}-%")

    # A pending sheet left by an interrupted run blocks too: its passwords may be live.
    other = workdir / "other.csv"
    Path(f"{other}.pending").write_text("username,password\n")
    blocked = run("accounts", "create", county, "--csv", str(other))
    assert blocked.returncode == 2 and "previous run" in blocked.stderr and not other.exists()
    Path(f"{other}.pending").unlink()

    # With nothing missing, no file is written.
    done = run("accounts", "create", "000000", "--csv", str(workdir / "none.csv"))
    assert done.returncode == 0 and "nothing created" in done.stdout
    assert not (workdir / "none.csv").exists()


# ----------------------------------------------------------------- reset-password


def _add_session(db, account_id: int, token_hash: str, revoked_at: datetime | None = None) -> None:
    stamp = datetime(2030, 1, 1)  # naive UTC, like every timestamp the tests write
    db.execute("INSERT INTO auth_session (token_hash, account_id, created_at, last_seen_at, expires_at, revoked_at) "
               "VALUES (?, ?, ?, ?, ?, ?)", (token_hash, account_id, stamp, stamp, datetime(2031, 1, 1), revoked_at))


def test_reset_password_sets_a_new_one_and_ends_every_session(run, db):
    username = "530102-003"
    account = _accounts(db, username)[username]
    _add_session(db, account["id"], "a" * 64)
    _add_session(db, account["id"], "b" * 64)
    _add_session(db, account["id"], "c" * 64, revoked_at=datetime(2029, 6, 1))
    db.execute("UPDATE account SET wechat_openid = 'openid-reset' WHERE id = ?", (account["id"],))
    db.commit()

    result = run("accounts", "reset-password", username)
    assert result.returncode == 0, result.stderr
    [password] = re.findall(rf"^new password for {username}: (\S+)$", result.stdout, re.M)
    assert result.stdout.count(password) == 1  # printed once
    row = _accounts(db, username)[username]
    assert verify_password(row["password_hash"], password)
    assert not verify_password(row["password_hash"], DEMO_PASSWORD)
    assert row["wechat_openid"] is None
    sessions = dict(db.execute("SELECT token_hash, revoked_at FROM auth_session WHERE account_id = ?",
                               (account["id"],)).fetchall())
    assert sessions["a" * 64] and sessions["b" * 64]
    assert sessions["c" * 64] == datetime(2029, 6, 1)  # an earlier revocation keeps its time


def test_reset_password_to_a_given_password_follows_the_policy(run, db):
    username = "530102-004"
    before = _accounts(db, username)[username]["password_hash"]
    weak = run("accounts", "reset-password", username, "--password", "short")
    assert weak.returncode == 2 and "at least 10 characters" in weak.stderr
    assert _accounts(db, username)[username]["password_hash"] == before

    chosen = "Kunming#2022-safe"
    ok = run("accounts", "reset-password", username, "--password", chosen)
    assert ok.returncode == 0 and chosen in ok.stdout
    assert verify_password(_accounts(db, username)[username]["password_hash"], chosen)

    unknown = run("accounts", "reset-password", "nobody-000")
    assert unknown.returncode == 2 and "unknown username" in unknown.stderr


@pytest.mark.only_on("sqlite", reason="SQLite's single write lock and its busy timeout")
def test_a_command_waits_for_the_write_lock_as_long_as_the_settings_say(database, workdir, db):
    """SQLITE_BUSY_TIMEOUT_MS holds for commands as for the service: within it a command waits for
    another writer and succeeds; past it, it stops with exit code 3 and the reason, writing nothing."""
    username = "530102-005"
    before = _accounts(db, username)[username]["password_hash"]
    holder = sqlite3.connect(database.name, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer, mid-transaction
    try:
        refused = _cli(database, workdir, "accounts", "reset-password", username, SQLITE_BUSY_TIMEOUT_MS="200")
        release = threading.Timer(1.0, holder.execute, ("COMMIT",))
        release.start()
        waited = _cli(database, workdir, "accounts", "reset-password", username, "--password", "Kunming#2022-wait",
                      SQLITE_BUSY_TIMEOUT_MS="60000")
        release.join()
    finally:
        holder.close()
    assert refused.returncode == 3, refused.stderr
    assert "database is unavailable" in refused.stderr and "locked" in refused.stderr
    assert "Traceback" not in refused.stderr and "new password" not in refused.stdout
    assert waited.returncode == 0, waited.stderr
    assert verify_password(_accounts(db, username)[username]["password_hash"], "Kunming#2022-wait")
    assert before != _accounts(db, username)[username]["password_hash"]


# ----------------------------------------------------------------- in-process: the sheet's failure paths


async def test_a_failed_commit_leaves_no_sheet(database, workdir, db, monkeypatch):
    region = "000000"
    _delete_accounts(db, "username = '000000-010'")

    async def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(accounts_module.audit, "record", broken)
    engine = make_engine(database.url)
    sheet = workdir / "failed.csv"
    try:
        with pytest.raises(RuntimeError):
            await create_region_accounts(engine, region, sheet, settings=Settings())
    finally:
        await engine.dispose()
    assert not sheet.exists() and not Path(f"{sheet}.pending").exists()
    assert "000000-010" not in _accounts(db, "000000-%")


async def test_a_failed_rename_keeps_the_passwords_in_the_pending_sheet(database, workdir, db, monkeypatch):
    def no_links(*args):
        raise OSError(18, "Invalid cross-device link")

    _delete_accounts(db, "username = '000000-010'")
    monkeypatch.setattr(password_sheet.os, "link", no_links)
    engine = make_engine(database.url)
    sheet = workdir / "unlinked.csv"
    try:
        with pytest.raises(MinegraphError) as caught:
            await create_region_accounts(engine, "000000", sheet, settings=Settings())
    finally:
        await engine.dispose()
    pending = Path(f"{sheet}.pending")
    assert str(pending) in caught.value.message and not sheet.exists()
    assert stat.S_IMODE(pending.stat().st_mode) == 0o600
    [(username, password)] = _read_sheet(pending).items()
    assert username == "000000-010"
    assert verify_password(_accounts(db, username)[username]["password_hash"], password)


# ----------------------------------------------------------------- units


def test_accounts_per_region_match_the_domain_data():
    data = json.loads((ROOT / "seed" / "data" / "demo_distributions.json").read_text(encoding="utf-8"))
    assert {level.value: n for level, n in ACCOUNTS_PER_REGION.items()} == data["accounts"]["per_region"]


@pytest.mark.parametrize("settings", [Settings(), Settings(password_min_length=24, password_min_classes=4)])
def test_generated_passwords_meet_the_policy_and_are_spreadsheet_safe(settings):
    for _ in range(200):
        password = generate_password(settings, "530102-001")
        check_password_policy(password, settings, username="530102-001")
        assert password[0].isalpha() and not set(password) & set(",\"'=+-@ \t")


def test_an_impossible_policy_is_reported_not_looped_on():
    with pytest.raises(BadUserInput):
        generate_password(Settings(password_min_length=200))
