"""Faults: the server SIGKILLed in the middle of a stream of writes (both backends).

A freshly seeded database is served by a real `minegraph serve`; twelve writers stream versioned
writes (updateMineLocation by the mines' own accounts, setGuarantor by their counties' -001
accounts, two writers per field, so writes also race each other: fault_targets.py) and record every
acknowledgement (HTTP 200 without errors: mine, field, value, version). At a random moment the
server's whole process group gets SIGKILL; it is restarted, must answer at once, and then
`fault_verify.verify` checks, over all rounds so far: every acknowledged write is in the audit trail
with its value and at the version it reported; for every mine, versions gained == writes audited
(nothing half-applied); every field holds the value of its last audited write, which is the last
acknowledged one or a later write that was in flight at the kill; no write that nobody sent.
`make test` kills 5 times (KILL_ROUNDS); `make soak` 50 times (SOAK_KILL_ROUNDS), marked `soak`.

Figures are printed and merged into $FAULT_REPORT (JSON) when set.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from pathlib import Path

import httpx
import pytest

from support import servers
from support import sqldb
from support.fault_probe import MINE_VERSION
from support.fault_report import report
from support.fault_server import Server
from support.fault_targets import target_tokens, write_targets, writer_plan
from support.fault_verify import Baseline, verify
from support.fault_writes import WriteLog

KILL_ROUNDS = int(os.environ.get("KILL_ROUNDS", "5"))
SOAK_KILL_ROUNDS = int(os.environ.get("SOAK_KILL_ROUNDS", "50"))
MINES = 300


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

        tasks = [asyncio.create_task(writer(*plan)) for plan in writer_plan(targets, tokens)]
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
        targets = write_targets(database)
        log = WriteLog(tag=f"k{secrets.token_hex(3)}")
        server = Server(database, directory / "serve.log")
        server.start()
        try:
            # Sessions live in the database: they survive the kills.
            tokens = target_tokens(server.base, targets, "000000-001")
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
