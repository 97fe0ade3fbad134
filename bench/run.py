"""`make bench`: build the datasets, run every contender on them one after another, write the report.

    .venv/bin/python -m bench.run [--mines 100000] [--seed 2022] [--duration 4] [--only NAME,...]

Writes bench/results/<YYYY-MM-DD>.json, .md and .png (with -<N> before the extension when
--mines is not 100,000). See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from bench import report
from bench.common import DATA, RESULTS, ROOT, elapsed_s, say
from bench.contenders import Contender, Floor, Hello, Minegraph, Naive, PostGraphile
from bench.datasets import pg, prepare
from bench.environment import NPM_PACKAGES, QuietWait, ensure_wrk, machine_facts, npm_install
from bench.runner import OPEN_LOOP_RATE, SEQUENTIAL_N, Runner
from bench.workloads import PG_COMPUTED_COLUMNS

DEFAULT_MINES = 100_000
CONNECTIONS = (1, 4, 16)
POSTGRAPHILE_LOGIN = ("not measured: PostGraphile has no login here (it would need a plpgsql JWT function, "
                      "and argon2 is not available inside PostgreSQL)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mines", type=int, default=int(os.environ.get("MINES", DEFAULT_MINES)))
    p.add_argument("--seed", type=int, default=2022)
    p.add_argument("--duration", type=float, default=3.0, help="seconds per wrk point (default 3)")
    p.add_argument("--open-loop-s", type=float, default=3.0, help="seconds per open-loop point (0: skip)")
    p.add_argument("--connections", default=",".join(map(str, CONNECTIONS)))
    p.add_argument("--workers", type=int, default=1, help="server processes per contender (default 1)")
    p.add_argument("--only", default="", help="comma-separated contender names (default: all)")
    p.add_argument("--workloads", default="", help="comma-separated workloads (default: all)")
    p.add_argument("--no-sqlcount", action="store_true")
    p.add_argument("--wait-quiet", type=float, default=0.0,
                   help="before each contender, wait while other processes keep the machine busy; at most this "
                        "many seconds over the whole run (default 0: never wait)")
    p.add_argument("--out", default=str(RESULTS))
    p.add_argument("--label", default="", help="appended to the file names: <date>[-<mines>]-<label>.md")
    args = p.parse_args(argv)
    if args.label and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", args.label):
        p.error(f"--label {args.label!r}: letters, digits, '.', '_' and '-' only (it becomes part of file names)")
    args.connections = [int(c) for c in args.connections.split(",") if c]
    args.only = {n for n in args.only.split(",") if n}
    args.workloads = {n for n in args.workloads.split(",") if n}
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now().astimezone()
    ensure_wrk()
    wanted = lambda name: not args.only or name in args.only  # noqa: E731
    need_pg = any(wanted(n) for n in ("minegraph-postgres", "floor-postgres", "naive-postgres", "postgraphile"))
    need_sqlite = any(wanted(n) for n in ("minegraph-sqlite", "floor-sqlite", "naive-sqlite"))
    ds = prepare(args.mines, args.seed, sqlite=need_sqlite, postgres=need_pg)
    log_dir = DATA / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    runner = Runner(args, ds, log_dir)
    contenders: dict[str, dict] = {}
    sql: dict[str, dict] = {}
    meta: dict = {
        "date": started.strftime("%Y-%m-%d"), "started": started.isoformat(timespec="seconds"),
        "mines": args.mines, "seed": args.seed, "dataset_key": ds.key,
        "dataset_build_s": {k: round(v, 1) for k, v in (ds.build_s or {}).items()},
        "duration_s": args.duration, "open_loop_s": args.open_loop_s, "connections": args.connections,
        "open_loop_rates": OPEN_LOOP_RATE, "sequential_n": SEQUENTIAL_N, "workers": args.workers,
        "argv": sys.argv[1:] if argv is None else argv,
    }
    if args.label:
        meta["label"] = args.label

    quiet = QuietWait(args.wait_quiet)

    def run(contender: Contender, count_sql: bool = True) -> None:
        if not wanted(contender.name):
            return
        quiet()
        contenders[contender.name] = runner.run(contender, contender.server(log_dir))
        if count_sql and not args.no_sqlcount and contenders[contender.name]["status"] == "ok":
            sql[contender.name] = runner.sqlcount(contender)

    run(Hello("", args.workers), count_sql=False)
    if ds.sqlite_path:
        for cls in (Floor, Minegraph, Naive):
            run(cls(ds.sqlite_url, "sqlite", args.workers))
    pg_names = ("floor-postgres", "minegraph-postgres", "naive-postgres", "postgraphile")
    if ds.pg_db:
        for cls in (Floor, Minegraph, Naive):
            run(cls(ds.pg_url, "postgres", args.workers))
    elif need_pg:
        for name in pg_names:
            if wanted(name):
                contenders[name] = {"status": "not measured", "reason": f"PostgreSQL unavailable: {ds.pg_error}"}

    if wanted("postgraphile") and ds.pg_db:
        node_dir = Path(tempfile.mkdtemp(prefix="mgbench-postgraphile-"))
        try:
            say(f"postgraphile: npm install {' '.join(NPM_PACKAGES)} into {node_dir}")
            npm_s, npm_error = npm_install(node_dir)
            meta["npm_install_s"] = round(npm_s, 1)
            if npm_error:
                contenders["postgraphile"] = {"status": "not measured", "reason": npm_error}
            else:
                pg(PG_COMPUTED_COLUMNS, db=ds.pg_db)
                contender = PostGraphile(ds.pg_plain_url, node_dir, args.workers)
                quiet()
                meta["postgraphile_versions"] = contender.versions()
                contenders["postgraphile"] = runner.run(contender, contender.server(log_dir))
                if contenders["postgraphile"]["status"] == "ok":
                    contenders["postgraphile"]["workloads"]["login"] = {"error": POSTGRAPHILE_LOGIN}
                    if not args.no_sqlcount:
                        sql["postgraphile"] = runner.sqlcount_postgraphile(contender)
        finally:
            shutil.rmtree(node_dir, ignore_errors=True)

    meta["machine"] = machine_facts(ds)
    meta["total_s"] = round(elapsed_s(), 1)
    meta["waited_for_quiet_s"] = round(quiet.waited_s, 1)
    results = {"meta": meta, "contenders": contenders, "sql": sql}
    out_dir = Path(args.out)
    paths = report.write(results, out_dir)
    say(f"done in {meta['total_s']:.0f} s: " + ", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT)
                                                      else str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
