"""The export's cost: every mine as XLSX and CSV through the real HTTP endpoint, against a floor.

    .venv/bin/python -m bench.export [--mines 100000] [--seed 2022] [--backends sqlite,postgres]

For each backend: the benchmark's dataset (bench/datasets.py), `minegraph serve` on it (as
bench/contenders.Minegraph starts it), a national account's GET /export/mines.csv and .xlsx read to
the end; the floor is a process of its own that reads the same rows with one SELECT (plus one for
all guarantors) and writes them with the same row function and writers, nothing else. Reported:
seconds, the ratio to the floor (target ≤ 2), the time to the first byte, and peak RSS growth
(VmHWM after, reset before the request, minus VmRSS before; target ≤ 2 × the floor's growth).
Bounded: every request has a timeout (--timeout, default 600 s).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import httpx

from bench.common import DATA, PASSWORD, PYTHON, ROOT, base_env, say
from bench.contenders import Minegraph
from bench.served import CpuClock, arguments, databases, reset_peak, rss


def _download(base: str, path: str, token: str, timeout: float, pids: list[int], db_url: str) -> dict:
    before = sum(rss(p, "VmRSS") for p in pids)
    reset_peak(pids)
    clock = CpuClock(pids, db_url)
    clock.start()
    started = time.monotonic()
    first = None
    size = 0
    with httpx.stream("GET", base + path, headers={"Authorization": f"Bearer {token}"}, timeout=timeout,
                      trust_env=False) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            if first is None:
                first = time.monotonic() - started
            size += len(chunk)
    seconds = time.monotonic() - started
    cpu = clock.stop()
    peak = sum(rss(p, "VmHWM") for p in pids)
    return {"seconds": round(seconds, 2), "cpu_s": cpu, "first_byte_s": round(first or seconds, 3), "bytes": size,
            "rss_growth_mb": round((peak - before) / 2**20, 1)}


def _server_run(db_url: str, db: str, timeout: float) -> dict:
    contender = Minegraph(db_url, db)
    server = contender.server(DATA / "export-logs")
    with server:
        login = httpx.post(server.base + "/graphql", timeout=60, trust_env=False, json={
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            "variables": {"u": "000000-001", "p": PASSWORD}})
        token = login.json()["data"]["login"]["token"]
        pids = server.pids()
        return {form: _download(server.base, f"/export/mines.{form}", token, timeout, pids, db_url) for form in ("csv", "xlsx")}


# --------------------------------------------------------------------------- the floor (run in a child process)


async def _floor(db_url: str, form: str) -> dict:
    import tempfile
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from models.db import make_engine
    from models.mine import Guarantor, Mine
    from models.trees import load_trees
    from resolvers.exports import mine_cells
    from spreadsheets.columns import COLUMNS
    from spreadsheets.writing import csv_head, csv_text, mines_xlsx_writer

    engine = make_engine(db_url)
    trees = await load_trees(engine)
    zone = ZoneInfo("Asia/Shanghai")
    before = rss(os.getpid(), "VmRSS")
    reset_peak([os.getpid()])
    clock = CpuClock([os.getpid()], db_url)
    clock.start()
    started = time.monotonic()
    async with engine.connect() as conn:
        mines = (await conn.execute(select(Mine).where(Mine.revoked_at.is_(None))
                                    .order_by(Mine.county_code, Mine.code))).all()
        people: dict[int, dict] = {}
        for row in (await conn.execute(select(Guarantor))).all():
            people.setdefault(row.mine_id, {})[row.level] = row
    rows = [mine_cells(m, people.get(m.id, {}), trees, zone) for m in mines]
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, f"floor.{form}")
        if form == "csv":
            with open(path, "wb") as out:
                out.write(csv_head([c.label for c in COLUMNS]))
                out.write(csv_text(rows).encode("utf-8"))
        else:
            writer = mines_xlsx_writer(path)
            writer.write_rows(rows)
            writer.close()
        size = os.path.getsize(path)
    seconds = time.monotonic() - started
    cpu = clock.stop()
    await engine.dispose()
    return {"seconds": round(seconds, 2), "cpu_s": cpu, "bytes": size,
            "rss_growth_mb": round((rss(os.getpid(), "VmHWM") - before) / 2**20, 1)}


def _floor_run(db_url: str, form: str, timeout: float) -> dict:
    done = subprocess.run([PYTHON, "-m", "bench.export", "--floor", db_url, form], cwd=ROOT, env=base_env(),
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"floor failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    args = arguments(__doc__, 600.0, ("DB_URL", "FORM"))
    if args.floor:
        print(json.dumps(asyncio.run(_floor(*args.floor))))
        return
    results = {}
    for backend, url in databases(args, "export"):
        served = _server_run(url, backend, args.timeout)
        for form in ("csv", "xlsx"):
            floor = _floor_run(url, form, args.timeout)
            served[form]["floor"] = floor
            served[form]["ratio"] = round(served[form]["seconds"] / floor["seconds"], 2)
            if floor.get("cpu_s"):  # not the target: a reading that others' load moves less
                served[form]["cpu_ratio"] = round(served[form]["cpu_s"] / floor["cpu_s"], 2)
            say(f"  {form}: {served[form]}")
        results[backend] = served
    print(json.dumps({"mines": args.mines, "results": results}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
