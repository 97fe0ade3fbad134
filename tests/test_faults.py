"""Faults: the server SIGKILLed in the middle of a stream of writes, the database going away.

kill -9 (both backends). A freshly seeded database is served by a real `minegraph serve`; twelve
writers stream versioned writes (updateMineLocation by the mines' own accounts, setGuarantor by
their counties' -001 accounts, two writers per field, so writes also race each other) and record
every acknowledgement (HTTP 200 without errors: mine, field, value, version). At a random moment
the server's whole process group gets SIGKILL; it is restarted, must answer at once, and then
`faultkit.verify` checks, over all rounds so far: every acknowledged write is in the audit trail
with its value and at the version it reported; for every mine, versions gained == writes audited
(nothing half-applied); every field holds the value of its last audited write, which is the last
acknowledged one or a later write that was in flight at the kill; no write that nobody sent.
`make test` kills 5 times (KILL_ROUNDS); `make soak` 50 times (SOAK_KILL_ROUNDS), marked `soak`.

Database outage (PostgreSQL run). A private PostgreSQL cluster (initdb + pg_ctl from the Debian
packages, as the postgres user when run as root, on a free port under a temp dir — never the
machine's own cluster) holds a seeded database served by `minegraph serve`. The cluster is
stopped (`pg_ctl stop -m fast`) while the server runs: reads, a login and a write must each be
answered promptly with a coded JSON error, the server must stay up, the write must not be applied,
and once the cluster is back the very next requests must succeed, without restarting the server.

SQLite lock held (SQLite run). Another process holds SQLite's write lock longer than the
service's busy timeout: reads keep being served (WAL), a write waits the busy timeout and is
then answered with a coded error and not applied, and writes work again once the lock is gone.

Figures are printed and merged into $FAULT_REPORT (JSON) when set.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import random
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

import servers
import sqldb
from conftest import PASSWORD
from faultkit import Baseline, Server, WriteLog, report, verify
from queries import DASHBOARD, LOGIN

KILL_ROUNDS = int(os.environ.get("KILL_ROUNDS", "5"))
SOAK_KILL_ROUNDS = int(os.environ.get("SOAK_KILL_ROUNDS", "50"))
WRITERS_PER_FIELD = 2
MINES = 300
MINE_VERSION = "query Mine($id: ID!) { mine(id: $id) { id version location { wgs84 { lat lng } } } }"


def _login(base: str, username: str) -> str:
    response = httpx.post(f"{base}/graphql", json={"query": LOGIN, "variables": {"u": username, "p": PASSWORD}},
                          timeout=60, trust_env=False)
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]["login"]["token"]


def _targets(database: sqldb.Database, count: int = 3) -> list[tuple[int, str, str]]:
    """Mines (id, own account, county -001 account) in distinct counties that have a city level."""
    picked, counties = [], set()
    for mine_id, code, county in database.rows(
            "SELECT id, code, county_code FROM mine WHERE city_code IS NOT NULL ORDER BY id"):
        if county not in counties:
            counties.add(county)
            picked.append((mine_id, code, f"{county}-001"))
        if len(picked) == count:
            return picked
    raise AssertionError("the demo dataset has too few counties")


def _tokens(base: str, targets) -> dict[str, str]:
    names = {"000000-001"} | {t[1] for t in targets} | {t[2] for t in targets}
    return {name: _login(base, name) for name in sorted(names)}


async def _stream_until_killed(server: Server, targets, tokens, log: WriteLog, rng: random.Random) -> float:
    """Writers stream until the server is SIGKILLed at a random moment; returns when all have stopped."""
    stop, warm = asyncio.Event(), asyncio.Event()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server.base, timeout=60, trust_env=False, limits=limits) as client:

        async def writer(mine_id: int, kind: str, token: str) -> None:
            while not stop.is_set():
                write = await log.send(client, log.new(mine_id, kind), token)
                if not write.acked:
                    return  # the server is gone (or refused it: reported as unexpected)
                warm.set()

        tasks = [
            asyncio.create_task(writer(mine_id, kind, tokens[owner if kind == "location" else clerk]))
            for mine_id, owner, clerk in targets for kind in ("location", "guarantor")
            for _ in range(WRITERS_PER_FIELD)
        ]
        # The kill comes at a random moment once writes are flowing (a fresh process's first write
        # loads the county boundaries, which takes a second or two).
        try:
            await asyncio.wait_for(warm.wait(), 60)
        except TimeoutError:
            pass  # killed anyway; `verify` and the acknowledgement count will tell
        delay = rng.uniform(0.2, 1.5)
        await asyncio.sleep(delay)
        server.kill()
        stop.set()
        await asyncio.gather(*tasks)
    return delay


def _serves_current_versions(server: Server, database: sqldb.Database, targets, token: str) -> None:
    with httpx.Client(base_url=server.base, timeout=60, trust_env=False) as client:
        for mine_id, _owner, _clerk in targets:
            response = client.post("/graphql", json={"query": MINE_VERSION, "variables": {"id": str(mine_id)}},
                                   headers={"Authorization": f"Bearer {token}"})
            body = response.json()
            assert response.status_code == 200 and not body.get("errors"), body
            stored = database.one("SELECT version FROM mine WHERE id = ?", mine_id)[0]
            assert body["data"]["mine"]["version"] == stored


def _kill_rounds(directory: Path, rounds: int) -> dict:
    seed = int(os.environ.get("KILL_SEED") or secrets.randbelow(2**31))
    rng = random.Random(seed)
    with sqldb.fresh_database(directory) as database:
        servers.seed(database, MINES)
        baseline = Baseline.take(database)
        targets = _targets(database)
        log = WriteLog(tag=f"k{secrets.token_hex(3)}")
        server = Server(database, directory / "serve.log")
        server.start()
        try:
            tokens = _tokens(server.base, targets)  # sessions live in the database: they survive the kills
            kills, delays, figures = 0, [], {}
            for round_no in range(rounds):
                acked = len(log.acked)
                delays.append(asyncio.run(_stream_until_killed(server, targets, tokens, log, rng)))
                assert len(log.acked) > acked, f"round {round_no + 1}: no write was acknowledged before the kill"
                assert not server.pids_alive(), "SIGKILL left processes of the server group"
                kills += 1
                server.start()  # the restart: recovery (SQLite WAL, PostgreSQL backends gone) is its job
                _serves_current_versions(server, database, targets, tokens["000000-001"])
                figures = verify(database, baseline, log)  # cumulative: earlier rounds' writes too
                assert not log.unexpected, log.unexpected[:10]
            assert "Traceback" not in server.log_text(), servers.tail(server.log_path)
        finally:
            server.stop()
    figures = {"backend": sqldb.BACKEND, "kills": f"{kills}/{rounds}", **figures, "seed": seed,
               "kill_after_s": f"{min(delays):.2f}..{max(delays):.2f}"}
    assert figures["lost_acknowledged"] == 0 and figures["half_applied"] == 0
    return figures


def test_kill_9_during_writes_loses_no_acknowledged_write(tmp_path):
    report(f"kill9[{sqldb.BACKEND}]", _kill_rounds(tmp_path, KILL_ROUNDS))


@pytest.mark.soak
def test_soak_kill_9_during_writes_50_times(tmp_path, soak_selected):
    report(f"kill9-soak[{sqldb.BACKEND}]", _kill_rounds(tmp_path, SOAK_KILL_ROUNDS))


@pytest.fixture
def soak_selected(request):
    """Soak tests run only when asked for with -m (e.g. `make soak`), never in a plain `pytest`."""
    if "soak" not in (request.config.getoption("markexpr") or "") or "not soak" in request.config.getoption("markexpr"):
        pytest.skip("a soak test: run by `make soak` (pytest -m soak)")


# --------------------------------------------------------------------------- PostgreSQL outage


def _pg_bindir() -> Path | None:
    configured = os.environ.get("PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
                        if p.parts[-3].isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class Cluster:
    """A private PostgreSQL cluster on a free loopback port, under a temp dir of its own."""

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        if self.bindir is None or not (self.bindir / "pg_ctl").exists():
            pytest.skip("no initdb/pg_ctl (Debian: postgresql) to run a private cluster; set PG_BINDIR")
        self.as_user: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="mg-pg-"))
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a `postgres` user to run a private cluster as")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.root.chmod(0o700)
        self.data = self.root / "data"
        self.port = servers.free_port()

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"{args[0]} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}"

    def init(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-locale")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "postgres.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> sqldb.Database:
        with _connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        return ClusterDatabase(f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}", name, self.root)

    def destroy(self) -> None:
        if self.running():
            try:
                self.stop("immediate")
            except AssertionError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def _connect(conninfo: str):
    import psycopg

    return psycopg.connect(conninfo, autocommit=True, connect_timeout=5, options="-c TimeZone=UTC")


class ClusterDatabase(sqldb.Database):
    """A database of the private cluster (sqldb.Database connects through TEST_PG_URL's server)."""

    def connect(self) -> sqldb.Connection:
        return sqldb.Connection(_connect(self.url.replace("postgresql+asyncpg://", "postgresql://")), postgresql=True)


def _probe(base: str, token: str, owner_token: str, mine_id: int, keep_alive: httpx.Client | None = None) -> dict:
    """A read, a detail, a login and a write (and an anonymous read), each timed, on fresh connections
    (and the dashboard again on a kept-alive one); what came back."""
    requests = {
        "dashboard": ({"query": DASHBOARD}, token),
        "mine": ({"query": MINE_VERSION, "variables": {"id": str(mine_id)}}, token),
        "login": ({"query": LOGIN, "variables": {"u": "000000-002", "p": PASSWORD}}, None),
        "write": ({"query": """mutation W($id: ID!) { updateMineLocation(mineId: $id, lat: 30.5, lng: 104.5,
                   datum: WGS84) { version } }""", "variables": {"id": str(mine_id)}}, owner_token),
        "anonymous": ({"query": DASHBOARD}, None),
    }
    out = {}
    for name, (payload, bearer) in requests.items():
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        started = time.monotonic()
        try:
            with httpx.Client(base_url=base, timeout=60, trust_env=False) as client:
                response = client.post("/graphql", json=payload, headers=headers)
            out[name] = _answer(response, time.monotonic() - started)
        except httpx.HTTPError as error:
            out[name] = {"status": None, "error": f"{type(error).__name__}: {error}",
                         "seconds": time.monotonic() - started}
    if keep_alive is not None:
        for attempt in ("kept-alive 1", "kept-alive 2"):
            started = time.monotonic()
            try:
                response = keep_alive.post("/graphql", json={"query": DASHBOARD},
                                           headers={"Authorization": f"Bearer {token}"})
                out[attempt] = _answer(response, time.monotonic() - started)
            except httpx.HTTPError as error:
                out[attempt] = {"status": None, "error": f"{type(error).__name__}: {error}",
                                "seconds": time.monotonic() - started}
    return out


def _answer(response: httpx.Response, seconds: float) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = (body or {}).get("errors") if isinstance(body, dict) else None
    return {
        "status": response.status_code, "seconds": round(seconds, 3),
        "content_type": response.headers.get("content-type", ""),
        "json": body is not None,
        "codes": [(e.get("extensions") or {}).get("code") for e in errors or ()],
        "messages": [e.get("message") for e in errors or ()],
        "request_ids": [(e.get("extensions") or {}).get("requestId") for e in errors or ()],
        "data": (body or {}).get("data") if isinstance(body, dict) else None,
        "text": response.text[:200] if body is None else "",
    }


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    """Serve a private cluster's database, stop the cluster, probe, start it again, probe: what happened."""
    if not sqldb.POSTGRESQL:
        pytest.skip("runs in the TEST_DATABASE=postgresql run (with a private PostgreSQL cluster of its own)")
    directory = tmp_path_factory.mktemp("outage")
    cluster = Cluster()
    server = None
    try:
        cluster.init()
        cluster.start()
        database = cluster.create_database("mg")
        servers.seed(database, MINES)
        mine_id, code = database.one("SELECT id, code FROM mine ORDER BY id LIMIT 1")
        server = Server(database, directory / "serve.log").start()
        token, owner = _login(server.base, "000000-001"), _login(server.base, code)
        keep_alive = httpx.Client(base_url=server.base, timeout=60, trust_env=False)
        before = _probe(server.base, token, owner, mine_id, keep_alive)
        version = database.one("SELECT version FROM mine WHERE id = ?", mine_id)[0]

        cluster.stop("fast")
        during = [_probe(server.base, token, owner, mine_id, keep_alive) for _ in range(2)]
        alive_during = server.alive()
        health = httpx.get(f"{server.base}/healthz", timeout=10, trust_env=False).status_code
        ready_during = httpx.get(f"{server.base}/readyz", timeout=10, trust_env=False).status_code

        cluster.start()
        after = _probe(server.base, token, owner, mine_id, keep_alive)
        ready_after = httpx.get(f"{server.base}/readyz", timeout=10, trust_env=False).status_code
        keep_alive.close()
        outcome = {
            "before": before, "during": during, "after": after, "alive_during": alive_during,
            "alive_after": server.alive(), "healthz_during": health, "version_before": version,
            "readyz_during": ready_during, "readyz_after": ready_after,
            "version_after": database.one("SELECT version FROM mine WHERE id = ?", mine_id)[0],
            "log": server.log_text(),
        }
        yield outcome
    finally:
        if server is not None:
            server.stop()
        cluster.destroy()


def _ok(answer: dict) -> bool:
    return answer["status"] == 200 and not answer["codes"]


def test_database_outage_no_crash_and_recovery_without_restart(outage):
    before, during, after = outage["before"], outage["during"], outage["after"]
    # The read paths worked before (the write needs a location inside China: fine too).
    assert all(_ok(before[name]) for name in ("dashboard", "mine", "login", "write")), before
    # During the outage: the server stays up and every request gets an answer, promptly.
    assert outage["alive_during"] and outage["alive_after"]
    for probe in during:
        for name, answer in probe.items():
            assert answer["seconds"] < 20, (name, answer)  # refused connections: no waiting for timeouts
            if name == "anonymous":
                assert answer["codes"] == ["UNAUTHENTICATED"], answer  # refused before any statement
            else:
                assert answer["status"] is not None or name.startswith("kept-alive"), (name, answer)
                assert not _ok(answer), (name, answer)
    # Nothing written while the database was away; the next requests after it is back succeed,
    # on new connections and on the kept-alive one, without restarting the server.
    for name in ("dashboard", "mine", "login", "write", "kept-alive 1", "kept-alive 2"):
        assert _ok(after[name]), (name, after[name])
    # version_before is read after the probe before the outage (which wrote once): the write sent
    # during the outage left nothing, the one after it is the next version.
    assert after["write"]["data"]["updateMineLocation"]["version"] == outage["version_before"] + 1
    assert outage["version_after"] == outage["version_before"] + 1
    # Liveness stays up (no restart needed); readiness tells a load balancer to route away, then back.
    assert (outage["healthz_during"], outage["readyz_during"], outage["readyz_after"]) == (200, 503, 200)
    report("outage[postgresql]", _outage_figures(outage))


def test_database_outage_answers_with_a_clear_coded_error(outage):
    for probe in outage["during"]:
        for name, answer in probe.items():
            if name == "anonymous":
                continue
            # A JSON GraphQL error naming the cause, never a bare 500 page or a dropped connection.
            assert answer["status"] in (200, 503), (name, answer)
            assert answer["json"] and answer["codes"] == ["INTERNAL"], (name, answer)
            assert "database" in " ".join(answer["messages"]).lower(), (name, answer)
            assert all(answer["request_ids"]), (name, answer)  # also the 503 of the token check


def _outage_figures(outage: dict) -> dict:
    during = outage["during"][0]
    return {
        name: (f"HTTP {a['status']} {','.join(c for c in a['codes'] if c) or a.get('text', '')[:40] or 'ok'}"
               if a["status"] is not None else a["error"][:60])
        for name, a in during.items()
    } | {"server_alive": outage["alive_during"], "recovered_without_restart": all(
        _ok(outage["after"][n]) for n in ("dashboard", "mine", "login", "write"))}


# --------------------------------------------------------------------------- SQLite: the write lock held


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
            token, owner = _login(server.base, "000000-001"), _login(server.base, code)
            before = _probe(server.base, token, owner, mine_id)  # also warms the write path up
            version = database.one("SELECT version FROM mine WHERE id = ?", mine_id)[0]
            holder = sqlite3.connect(database.name, isolation_level=None, timeout=30)
            holder.execute("BEGIN IMMEDIATE")  # an operator's open write transaction (WAL: readers unaffected)
            try:
                during = _probe(server.base, token, owner, mine_id)
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            after = _probe(server.base, token, owner, mine_id)
            yield {"before": before, "during": during, "after": after, "version": version,
                   "alive": server.alive()}
        finally:
            server.stop()


def test_sqlite_write_lock_held_elsewhere_reads_go_on_writes_fail_then_recover(sqlite_lock):
    before, during, after = sqlite_lock["before"], sqlite_lock["during"], sqlite_lock["after"]
    assert all(_ok(before[name]) for name in ("dashboard", "mine", "login", "write")), before
    assert sqlite_lock["alive"]
    for name in ("dashboard", "mine"):
        assert _ok(during[name]), (name, during[name])  # WAL: reads go on (a blocked one would fail after 5 s)
    write = during["write"]
    assert write["status"] is not None and not _ok(write), write
    assert 4.5 < write["seconds"] < 30, write  # waited the 5 s busy timeout, then gave up
    assert all(_ok(after[name]) for name in ("dashboard", "mine", "login", "write")), after
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
