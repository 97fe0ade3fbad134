"""Faults: the database going away under a running server (the TEST_DATABASE=postgresql run).

A private PostgreSQL cluster (fault_pg_cluster.py: never the machine's own) holds a seeded database
served by `minegraph serve`. The cluster is stopped (`pg_ctl stop -m fast`) while the server runs:
reads, a login and a write must each be answered promptly with a coded JSON error, the server must
stay up, the write must not be applied, and once the cluster is back the very next requests must
succeed, without restarting the server.

Figures are printed and merged into $FAULT_REPORT (JSON) when set.
"""

from __future__ import annotations

import httpx
import pytest

from support import servers
from support import sqldb
from support.fault_pg_cluster import Cluster
from support.fault_probe import probe, succeeded
from support.fault_report import report
from support.fault_server import Server
from support.fault_targets import login

MINES = 300


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
        token, owner = login(server.base, "000000-001"), login(server.base, code)
        keep_alive = httpx.Client(base_url=server.base, timeout=60, trust_env=False)
        before = probe(server.base, token, owner, mine_id, keep_alive)
        version = database.one("SELECT version FROM mine WHERE id = ?", mine_id)[0]

        cluster.stop("fast")
        during = [probe(server.base, token, owner, mine_id, keep_alive) for _ in range(2)]
        alive_during = server.alive()
        health = httpx.get(f"{server.base}/healthz", timeout=10, trust_env=False).status_code
        ready_during = httpx.get(f"{server.base}/readyz", timeout=10, trust_env=False).status_code

        cluster.start()
        after = probe(server.base, token, owner, mine_id, keep_alive)
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


def test_database_outage_no_crash_and_recovery_without_restart(outage):
    before, during, after = outage["before"], outage["during"], outage["after"]
    # The read paths worked before (the write needs a location inside China: fine too).
    assert all(succeeded(before[name]) for name in ("dashboard", "mine", "login", "write")), before
    # During the outage: the server stays up and every request gets an answer, promptly.
    assert outage["alive_during"] and outage["alive_after"]
    for answers in during:
        for name, answer in answers.items():
            assert answer["seconds"] < 20, (name, answer)  # refused connections: no waiting for timeouts
            if name == "anonymous":
                assert answer["codes"] == ["UNAUTHENTICATED"], answer  # refused before any statement
            else:
                assert answer["status"] is not None or name.startswith("kept-alive"), (name, answer)
                assert not succeeded(answer), (name, answer)
    # Nothing written while the database was away; the next requests after it is back succeed,
    # on new connections and on the kept-alive one, without restarting the server.
    for name in ("dashboard", "mine", "login", "write", "kept-alive 1", "kept-alive 2"):
        assert succeeded(after[name]), (name, after[name])
    # version_before is read after the probe before the outage (which wrote once): the write sent
    # during the outage left nothing, the one after it is the next version.
    assert after["write"]["data"]["updateMineLocation"]["version"] == outage["version_before"] + 1
    assert outage["version_after"] == outage["version_before"] + 1
    # Liveness stays up (no restart needed); readiness tells a load balancer to route away, then back.
    assert (outage["healthz_during"], outage["readyz_during"], outage["readyz_after"]) == (200, 503, 200)
    report("outage[postgresql]", _outage_figures(outage))


def test_database_outage_answers_with_a_clear_coded_error(outage):
    for answers in outage["during"]:
        for name, answer in answers.items():
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
        succeeded(outage["after"][n]) for n in ("dashboard", "mine", "login", "write"))}
