"""Soak: mixed reads and writes at 50 connections for 10 minutes against a real `minegraph serve`.

Run by `make soak` only (marker `soak`; a plain `pytest` or `make test` skips it). A freshly seeded
database (SOAK_MINES, default 3,000) is served by `minegraph serve --workers SOAK_WORKERS` (default
2) on loopback. SOAK_CONNECTIONS (default 50) connections, each a loop of one request at a time,
send for SOAK_SECONDS (default 600):

- reads (70 %): dashboards, drill-downs (region → province → city → county statistics, with and
  without a filter), mine lists (filters, a second page by cursor), mine details — by a national,
  a province, a city and a county account;
- writes (30 %): mine locations by the mines' own accounts and COUNTY guarantors by their counties'
  -001 accounts, on 40 mines, half of them with `expectedVersion` read just before (a CONFLICT
  there is the expected answer to a race and changes nothing).

It asserts zero 5xx, zero errors other than those CONFLICTs, zero failed connections, zero lost or
half-applied writes (`fault_verify.verify`: every acknowledged write's audit record, value and
version), and memory flat: the server's resident memory (all its processes, from /proc, every
SOAK_SAMPLE_S = 10 s) averaged over the last quarter of the run is within SOAK_MEMORY_TOLERANCE
(15 %) of the second quarter's (the first quarter is warm-up). A JSON summary goes to SOAK_REPORT
when set.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import pytest

from support import servers
from support import sqldb
from support.environment import PASSWORD, busiest
from support.fault_server import Server
from support.fault_verify import Baseline, verify
from support.fault_writes import WriteLog
from support.queries import DASHBOARD, DRILL_DOWN, LOGIN, MINE_DETAIL, MINES

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
CONNECTIONS = int(os.environ.get("SOAK_CONNECTIONS", "50"))
WORKERS = int(os.environ.get("SOAK_WORKERS", "2"))
MINE_COUNT = int(os.environ.get("SOAK_MINES", "3000"))
SAMPLE_S = float(os.environ.get("SOAK_SAMPLE_S") or min(10.0, max(1.0, SECONDS / 24)))
MEMORY_TOLERANCE = float(os.environ.get("SOAK_MEMORY_TOLERANCE", "0.15"))
WRITE_MINES = 40
MINE_VERSION = "query V($id: ID!) { mine(id: $id) { version } }"
FILTERS = [None, {"scales": ["LARGE", "MEDIUM"]}, {"over30Workers": True}, {"depthMin": 300},
           {"mineralCodes": ["10"]}]

pytestmark = pytest.mark.soak


class Tally:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.status: Counter[int] = Counter()
        self.codes: Counter[str] = Counter()
        self.failures: list[str] = []  # 5xx, unexpected codes, failed connections (first 50)
        self.failure_count = 0
        self.latency: dict[str, list[float]] = defaultdict(list)

    def fail(self, what: str) -> None:
        self.failure_count += 1
        if len(self.failures) < 50:
            self.failures.append(what)


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def _post(client: httpx.AsyncClient, tally: Tally, op: str, payload: dict, token: str) -> dict | None:
    started = time.monotonic()
    try:
        response = await client.post("/graphql", json=payload, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        tally.fail(f"{op}: no answer ({type(error).__name__}: {error})")
        return None
    tally.latency[op].append(time.monotonic() - started)
    tally.requests[op] += 1
    tally.status[response.status_code] += 1
    if response.status_code != 200:
        tally.fail(f"{op}: HTTP {response.status_code} {response.text[:200]}")
        return None
    body = response.json()
    for error in body.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        tally.codes[code] += 1
        tally.fail(f"{op}: {code} {error.get('message')}")
    return body.get("data")


def _soak_accounts(database: sqldb.Database) -> tuple[list[str], list[tuple[int, str, str]], list[int]]:
    with database.connect() as db:
        province = busiest(db, "province_code")
        city = busiest(db, "city_code", "province_code = ?", (province,))
        county = busiest(db, "county_code", "city_code = ?", (city,))
        rows = db.execute("SELECT id, code, county_code FROM mine WHERE city_code IS NOT NULL ORDER BY id").fetchall()
        mine_ids = [r[0] for r in db.execute("SELECT id FROM mine ORDER BY id")]
    rng = random.Random(5)
    writes = [(r[0], r[1], f"{r[2]}-001") for r in rng.sample(rows, min(WRITE_MINES, len(rows)))]
    readers = ["000000-001", f"{province}-002", f"{city}-003", f"{county}-004"]
    return readers, writes, mine_ids


async def _run(server: Server, tokens: dict[str, str], readers: list[str], targets, mine_ids: list[int],
               log: WriteLog, tally: Tally, memory: list[tuple[float, float]]) -> float:
    deadline = time.monotonic() + SECONDS
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    start = time.monotonic()

    async def sampler() -> None:
        while time.monotonic() < deadline:
            memory.append((time.monotonic() - start, server.rss_mb()))
            await asyncio.sleep(SAMPLE_S)
        memory.append((time.monotonic() - start, server.rss_mb()))

    async with httpx.AsyncClient(base_url=server.base, timeout=60, trust_env=False, limits=limits) as client:

        async def connection(n: int) -> None:
            rng = random.Random(n)
            paging: tuple[str, object] | None = None  # (endCursor, its filter): the next page
            while time.monotonic() < deadline:
                roll = rng.random()
                reader = tokens[rng.choice(readers)]
                if roll < 0.15:
                    await _post(client, tally, "dashboard", {"query": DASHBOARD}, reader)
                elif roll < 0.25:
                    await _post(client, tally, "drill-down", {"query": DRILL_DOWN,
                                                              "variables": {"filter": rng.choice(FILTERS)}}, reader)
                elif roll < 0.45:
                    variables = {"filter": rng.choice(FILTERS), "first": 20}
                    if paging and rng.random() < 0.5:
                        variables.update(after=paging[0], filter=paging[1])
                    data = await _post(client, tally, "mines", {"query": MINES, "variables": variables}, reader)
                    info = ((data or {}).get("mines") or {}).get("pageInfo") or {}
                    paging = (info["endCursor"], variables["filter"]) if info.get("hasNextPage") else None
                elif roll < 0.70:
                    mine_id = rng.choice(mine_ids)
                    national = tokens["000000-001"]  # every mine is visible to it
                    await _post(client, tally, "mine", {"query": MINE_DETAIL, "variables": {"id": str(mine_id)}},
                                national)
                else:
                    mine_id, owner, clerk = rng.choice(targets)
                    kind = rng.choice(("location", "guarantor"))
                    token = tokens[owner if kind == "location" else clerk]
                    expected = None
                    if rng.random() < 0.5:
                        data = await _post(client, tally, "version", {"query": MINE_VERSION,
                                                                      "variables": {"id": str(mine_id)}}, token)
                        expected = ((data or {}).get("mine") or {}).get("version")
                    started = time.monotonic()
                    write = await log.send(client, log.new(mine_id, kind), token, expected_version=expected)
                    op = f"write-{kind}" + ("-versioned" if expected else "")
                    tally.latency[op].append(time.monotonic() - started)
                    tally.requests[op] += 1
                    if write.outcome.startswith("refused:CONFLICT") and expected is not None:
                        tally.codes["CONFLICT (expected)"] += 1
                    elif not write.acked:
                        tally.fail(f"{op}: {write.outcome} {log.unexpected[-1:] if log.unexpected else ''}")

        watcher = asyncio.create_task(sampler())
        await asyncio.gather(*(connection(n) for n in range(CONNECTIONS)))
        await watcher
    return time.monotonic() - start


def _memory_figures(memory: list[tuple[float, float]], elapsed: float) -> dict:
    def mean_between(lo: float, hi: float) -> float:
        values = [mb for at, mb in memory if lo * elapsed <= at < hi * elapsed] or [0.0]
        return statistics.fmean(values)

    second, last = mean_between(0.25, 0.5), mean_between(0.75, 1.01)
    return {
        "samples": len(memory), "every_s": SAMPLE_S,
        "first_mb": round(memory[0][1], 1), "max_mb": round(max(mb for _, mb in memory), 1),
        "last_mb": round(memory[-1][1], 1),
        "second_quarter_mean_mb": round(second, 1), "last_quarter_mean_mb": round(last, 1),
        "growth_pct": round(100 * (last - second) / second, 1) if second else None,
        "series_mb": [round(mb, 1) for _, mb in memory],
    }


def test_soak_mixed_reads_and_writes(tmp_path, soak_selected):
    with sqldb.fresh_database(tmp_path) as database:
        servers.seed(database, MINE_COUNT)
        baseline = Baseline.take(database)
        readers, targets, mine_ids = _soak_accounts(database)
        # Logins are throttled per client address; the soak logs in ~80 accounts from one.
        server = Server(database, tmp_path / "serve.log", workers=WORKERS,
                        THROTTLE_LOGIN_PER_MINUTE="100000", THROTTLE_LOGIN_BURST="100000").start()
        log, tally, memory = WriteLog(tag=f"s{secrets.token_hex(3)}"), Tally(), []
        try:
            names = set(readers) | {t[1] for t in targets} | {t[2] for t in targets}
            tokens = {}
            with httpx.Client(base_url=server.base, timeout=60, trust_env=False) as client:
                for name in sorted(names):
                    payload = {"query": LOGIN, "variables": {"u": name, "p": PASSWORD}}
                    body = client.post("/graphql", json=payload).json()
                    assert not body.get("errors"), body
                    tokens[name] = body["data"]["login"]["token"]
            pids_before = sorted(server.pids())
            elapsed = asyncio.run(_run(server, tokens, readers, targets, mine_ids, log, tally, memory))
            pids_after = sorted(server.pids())
            assert server.alive()
        finally:
            server.stop()
        writes = verify(database, baseline, log)
        tracebacks = server.log_text().count("Traceback")

    total = sum(tally.requests.values())
    mem = _memory_figures(memory, elapsed)
    summary = {
        "backend": sqldb.BACKEND, "seconds": round(elapsed, 1), "connections": CONNECTIONS, "workers": WORKERS,
        "mines": MINE_COUNT, "requests": total, "requests_per_s": round(total / elapsed, 1),
        "http_5xx": sum(n for status, n in tally.status.items() if status >= 500),
        "http_status": dict(tally.status), "unexpected_errors": tally.failure_count,
        "error_codes": dict(tally.codes), "first_failures": tally.failures[:20],
        "writes": writes, "server_processes_replaced": pids_before != pids_after, "tracebacks_logged": tracebacks,
        "latency_ms": {op: {"n": len(v), "p50": round(1000 * _percentile(v, 0.5)),
                            "p99": round(1000 * _percentile(v, 0.99)), "max": round(1000 * max(v))}
                       for op, v in sorted(tally.latency.items()) if v},
        "memory": mem,
    }
    print("\n[soak] " + json.dumps({k: v for k, v in summary.items() if k != "latency_ms"}, ensure_ascii=False))
    if os.environ.get("SOAK_REPORT"):
        Path(os.environ["SOAK_REPORT"]).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")

    assert summary["http_5xx"] == 0, summary["first_failures"]
    assert tally.failure_count == 0, tally.failures[:20]
    assert writes["lost_acknowledged"] == 0 and writes["half_applied"] == 0
    assert writes["acknowledged"] > 0 and total > 0
    assert not summary["server_processes_replaced"], (pids_before, pids_after)
    assert tracebacks == 0
    assert mem["growth_pct"] is not None and mem["growth_pct"] <= 100 * MEMORY_TOLERANCE, mem
