"""The import's cost: every mine's row as XLSX through the real POST /import, against a floor.

    .venv/bin/python -m bench.imports [--mines 100000] [--seed 2022] [--backends sqlite,postgres]

For each backend: the benchmark's dataset (bench/datasets.py), `minegraph serve` on it (as
bench/contenders.Minegraph starts it), a national account (000000-001) exporting every mine with
GET /export/mines.xlsx; from that file a second one with 单班下井作业人数 + 1 in every row (so
that applying it changes every mine: one version step and one audit record each). Then, as
000000-001, POST /import of: the unchanged file (dry run, apply: nothing to write) and the edited
file (dry run, apply), in that order, each answer read to the end and its counts checked.

The floor is a process of its own on the same database and files: `spreadsheets.reading.read_sheet`
over the edited file (every row, no parsing) plus one bulk insert of as many rows into a scratch
table, in one transaction — the least any import of this file must do. Reported: seconds, the
ratio to the floor (target ≤ 3), and peak RSS growth (VmHWM after, reset before the request, minus
VmRSS before), as bench/export.py measures it. Bounded: every request has a timeout (--timeout).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx

from bench.common import DATA, PASSWORD, PYTHON, RESULTS, ROOT, base_env, say
from bench.contenders import Minegraph
from bench.served import CpuClock, arguments, databases, reset_peak, rss

TARGET = 3.0
EDITED_LABEL = "单班下井作业人数"  # the one column changed in every row of the edited file
LOCATION = ("经度", "纬度", "坐标系")
USER = "000000-001"


class Importer(Minegraph):
    # A 100,000-row XLSX is ~11 MB, under the 20 MB default; raised so that the size is never the limit.
    SETTINGS = {**Minegraph.SETTINGS, "IMPORT_MAX_BYTES": str(64 * 2**20)}


def _copies(exported: Path, unchanged: Path, edited: Path) -> dict:
    """From an exported XLSX: `unchanged`, the same rows, and `edited`, EDITED_LABEL + 1 in every row.
    In both, a location that the import's own check refuses (models.geo.check_in_china) is left
    empty (kept as it is): the demo seed puts a few mines just outside China's outline, and one
    rejected row would make an apply write nothing. How many: "outside_china" in the results."""
    import openpyxl
    import xlsxwriter

    from models.errors import BadUserInput
    from models.geo import check_in_china

    book = openpyxl.load_workbook(exported, read_only=True, data_only=True)
    outs = {False: xlsxwriter.Workbook(str(unchanged), {"constant_memory": True}),
            True: xlsxwriter.Workbook(str(edited), {"constant_memory": True})}
    at: dict[str, int] = {}
    counts = {"rows": 0, "outside_china": 0}
    for name in book.sheetnames:  # the template's sheet and any other one, in order
        sheet, copies = book[name], {edit: out.add_worksheet(name) for edit, out in outs.items()}
        sheet.reset_dimensions()
        for index, values in enumerate(sheet.iter_rows(values_only=True)):
            values = list(values)
            data = bool(at) and name == book.sheetnames[0] and isinstance(values[at[EDITED_LABEL]], (int, float))
            if not at and EDITED_LABEL in values:
                at = {label: values.index(label) for label in (EDITED_LABEL, *LOCATION)}
            elif data and values[at["纬度"]] is not None:
                try:
                    check_in_china(values[at["纬度"]], values[at["经度"]])
                except BadUserInput:
                    counts["outside_china"] += 1
                    for label in LOCATION:
                        values[at[label]] = None
            counts["rows"] += data
            for edit, copy in copies.items():
                row = list(values)
                if edit and data:
                    row[at[EDITED_LABEL]] += 1
                copy.write_row(index, 0, row)
    book.close()
    for out in outs.values():
        out.close()
    return counts


def _post(base: str, token: str, path: Path, apply: bool, timeout: float, pids: list[int], db_url: str) -> dict:
    before = sum(rss(p, "VmRSS") for p in pids)
    reset_peak(pids)
    clock = CpuClock(pids, db_url)
    clock.start()
    started = time.monotonic()
    response = httpx.post(base + "/import", headers={"Authorization": f"Bearer {token}"}, timeout=timeout,
                          trust_env=False, data={"apply": "true" if apply else "false"},
                          files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
    seconds = time.monotonic() - started
    cpu = clock.stop()
    peak = sum(rss(p, "VmHWM") for p in pids)
    if response.status_code != 200:
        raise RuntimeError(f"POST /import answered {response.status_code}: {response.text[:500]}")
    body = response.json()
    return {"seconds": round(seconds, 2), "cpu_s": cpu, "rss_growth_mb": round((peak - before) / 2**20, 1),
            "answer_bytes": len(response.content), "applied": body["applied"],
            **{k: body[k] for k in ("changed", "unchanged", "rejected", "created")}}


def _server_run(db_url: str, db: str, mines: int, timeout: float) -> tuple[dict, Path]:
    server = Importer(db_url, db).server(DATA / "import-logs")
    exported = DATA / f"import-{db}-{mines}-exported.xlsx"
    unchanged, edited = DATA / f"import-{db}-{mines}.xlsx", DATA / f"import-{db}-{mines}-edited.xlsx"
    with server:
        login = httpx.post(server.base + "/graphql", timeout=60, trust_env=False, json={
            "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            "variables": {"u": USER, "p": PASSWORD}})
        token = login.json()["data"]["login"]["token"]
        with httpx.stream("GET", server.base + "/export/mines.xlsx", headers={"Authorization": f"Bearer {token}"},
                          timeout=timeout, trust_env=False) as response, open(exported, "wb") as out:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                out.write(chunk)
        counts = _copies(exported, unchanged, edited)
        say(f"  exported {exported.stat().st_size / 2**20:.1f} MB: {counts}")
        pids = server.pids()
        runs = {}
        for case, path in (("unchanged", unchanged), ("edited", edited)):
            for mode in ("dry_run", "apply"):
                runs[f"{case}_{mode}"] = _post(server.base, token, path, mode == "apply", timeout, pids, db_url)
                say(f"  {case} {mode}: {runs[f'{case}_{mode}']}")
    return {**counts, "file_mb": round(edited.stat().st_size / 2**20, 1), **runs}, edited


# --------------------------------------------------------------------------- the floor (run in a child process)


async def _floor(db_url: str, path: str) -> dict:
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert

    from models.db import make_engine
    from spreadsheets.reading import read_sheet

    scratch = Table("import_floor_scratch", MetaData(), Column("row_number", Integer, primary_key=True),
                    Column("code", String(32)), Column("workers", Integer))
    engine = make_engine(db_url)
    before = rss(os.getpid(), "VmRSS")
    reset_peak([os.getpid()])
    clock = CpuClock([os.getpid()], db_url)
    clock.start()
    started = time.monotonic()
    header, rows = read_sheet(path)
    code, workers = header.written("code"), header.written("workersPerShift")
    values = [{"row_number": n, "code": raw.get(code), "workers": raw.get(workers)} for n, raw in rows]
    read_s = time.monotonic() - started
    async with engine.begin() as conn:
        await conn.run_sync(scratch.create)
        await conn.execute(insert(scratch), values)
        await conn.run_sync(scratch.drop)
    seconds = time.monotonic() - started
    cpu = clock.stop()  # before the connections close: their backends' CPU counts
    await engine.dispose()
    return {"seconds": round(seconds, 2), "cpu_s": cpu, "read_s": round(read_s, 2), "insert_s": round(seconds - read_s, 2),
            "rows": len(values), "rss_growth_mb": round((rss(os.getpid(), "VmHWM") - before) / 2**20, 1)}


def _floor_run(db_url: str, path: Path, timeout: float) -> dict:
    done = subprocess.run([PYTHON, "-m", "bench.imports", "--floor", db_url, str(path)], cwd=ROOT, env=base_env(),
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"floor failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ratios(served: dict) -> None:
    floor = served["floor"]["seconds"]
    floor_cpu = served["floor"].get("cpu_s")
    for key, run in served.items():
        if isinstance(run, dict) and "applied" in run:
            run["ratio"] = round(run["seconds"] / floor, 2)
            if floor_cpu and run.get("cpu_s") is not None:
                run["cpu_ratio"] = round(run["cpu_s"] / floor_cpu, 2)  # not the target: a load-free reading
            run["verdict"] = "PASS" if run["ratio"] <= TARGET else "FAIL"
            if run["rejected"]:  # an apply with a rejected row writes nothing: not the case measured
                run["verdict"] = "not measured: rows rejected"


def main() -> None:
    args = arguments(__doc__, 900.0, ("DB_URL", "PATH"),
                     ("--label", {"default": "", "help": "appended to the results file's name"}))
    if args.floor:
        print(json.dumps(asyncio.run(_floor(*args.floor))))
        return
    results = {}
    for backend, url in databases(args, "import"):
        served, edited = _server_run(url, backend, args.mines, args.timeout)
        served["floor"] = _floor_run(url, edited, args.timeout)
        _ratios(served)
        say(f"  floor: {served['floor']}")
        results[backend] = served
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    report = {"mines": args.mines, "date": date.today().isoformat(), "commit": commit.stdout.strip(),
              "load_avg": os.getloadavg(), "target": TARGET, "results": results}
    name = f"{date.today().isoformat()}-import-{args.mines}{'-' + args.label if args.label else ''}.json"
    (RESULTS / name).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.exit(main())
