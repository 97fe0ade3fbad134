"""`make bench`: build the datasets, run every contender on them one after another, write the report.

    .venv/bin/python -m bench.run [--mines 100000] [--seed 2022] [--duration 4] [--only NAME,...]

Writes bench/results/<YYYY-MM-DD>.json, .md and .png (with -<N> before the extension when
--mines is not 100,000). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from bench import report
from bench.common import DATA, RESULTS, ROOT, LoadMeter, Server, ServerFailed, elapsed_s, say, wait_quiet
from bench.contenders import Contender, Floor, Hello, Minegraph, Naive, PostGraphile
from bench.datasets import Dataset, pg, prepare
from bench.load import run_open_loop, run_wrk, summarize, timed_post, wrk_available
from bench.workloads import PG_COMPUTED_COLUMNS, digest

DEFAULT_MINES = 100_000
CONNECTIONS = (1, 4, 16)
# Open loop: one fixed rate per workload, the same for every contender (requests/second).
OPEN_LOOP_RATE = {"dashboard": 5, "drilldown": 2, "drilldown_filtered": 2, "list_1": 20, "list_5000": 20,
                  "login": 1, "hello": 20}
SEQUENTIAL_N = 10  # drill-downs measured one at a time (after a write / repeated)
NPM_PACKAGES = ("postgraphile@4", "@graphile/pg-aggregates@0.1")
POSTGRAPHILE_LOGIN = ("not measured: PostGraphile has no login here (it would need a plpgsql JWT function, "
                      "and argon2 is not available inside PostgreSQL)")


def ensure_wrk() -> None:
    if wrk_available():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say("wrk missing: apt-get install -y wrk")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
    if not wrk_available():
        sys.exit("wrk is required: apt-get install wrk (Debian)")


def npm_install(target: Path) -> tuple[float, str | None]:
    """PostGraphile 4 + pg-aggregates into a temp folder; (seconds, error)."""
    t0 = time.monotonic()
    if not shutil.which("npm"):
        return 0.0, "npm not found on this machine"
    (target / "package.json").write_text('{"private": true}\n')
    try:
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *NPM_PACKAGES],
                              cwd=target, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return time.monotonic() - t0, "npm install timed out after 300 s"
    if done.returncode != 0:
        return time.monotonic() - t0, f"npm install failed: {(done.stderr or done.stdout)[-400:]}"
    return time.monotonic() - t0, None


def machine_facts(ds: Dataset) -> dict:
    def first_line(argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    facts = {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "wrk": first_line(["wrk", "-v"]), "node": first_line(["node", "--version"]),
        "git": first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
        "git_dirty": bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True,
                                         text=True).stdout.strip()),
    }
    if ds.pg_db:
        try:
            facts["postgresql"] = pg("SELECT version()", db=ds.pg_db)[0][0][0].split(" on ")[0]
        except Exception:  # noqa: BLE001
            facts["postgresql"] = "?"
    return facts


class Runner:
    def __init__(self, args: argparse.Namespace, ds: Dataset, log_dir: Path) -> None:
        self.args = args
        self.ds = ds
        self.log_dir = log_dir
        self.client = httpx.Client(timeout=120, trust_env=False)
        self.results: dict = {}

    # ------------------------------------------------------------------ one contender
    def run(self, contender: Contender, server: Server) -> dict:
        out: dict = {"family": contender.family, "db": contender.db, "status": "ok", "workloads": {},
                     "command": " ".join(Path(a).name if a.startswith("/") else a for a in server.argv)}
        say(f"{contender.name}: starting")
        self.server = server
        meter = LoadMeter(server)
        t0 = time.monotonic()
        try:
            server.start()
        except ServerFailed as error:
            out.update(status="not measured", reason=str(error)[:600])
            say(f"{contender.name}: {out['reason'][:200]}")
            return out
        try:
            out["start_s"] = round(server.started_s, 2)
            base = server.base
            try:
                contender.prepare(self.client, base)
            except Exception as error:  # noqa: BLE001
                out.update(status="not measured", reason=f"set-up failed: {type(error).__name__}: {error}"[:600])
                say(f"{contender.name}: {out['reason'][:300]}")
                return out
            for workload in contender.workloads:
                if self.args.workloads and workload not in self.args.workloads and workload != "hello":
                    continue
                out["workloads"][workload] = self.workload(contender, base, workload)
                # VmHWM only grows: reading it after each workload shows which one set the peak.
                peaks = server.read_peak_rss()
                out["workloads"][workload]["peak_rss_mb_after"] = round(max(peaks.values(), default=0) / 2**20, 1)
            if contender.family in ("minegraph", "floor", "postgraphile") and "drilldown" in contender.workloads:
                out["drilldown_sequential"] = self.drilldown_sequential(contender, base)
            server.read_peak_rss()
            out["peak_rss_bytes"] = server.peak_rss
            out["peak_rss_mb"] = round(max(server.peak_rss.values(), default=0) / 2**20, 1)
        finally:
            server.stop()
            out["seconds"] = round(time.monotonic() - t0, 1)
            out["machine_load"] = meter.stop()
            say(f"{contender.name}: done in {out['seconds']} s; other processes used "
                f"{out['machine_load']['foreign_cpu_pct']} % of the machine meanwhile")
        return out

    def workload(self, contender: Contender, base: str, workload: str) -> dict:
        req = contender.request(workload)
        url = base + req.path
        entry: dict = {}
        # Warm-up and correctness: two requests; the counts of the answer are hashed.
        try:
            for _ in range(2):
                ms, body, response = timed_post(self.client, url, req.body, req.headers)
            entry["hash"] = digest(contender.canonical(workload, body))
            entry["response_bytes"] = len(response.content)
            entry["x_cache"] = response.headers.get("x-cache")  # minegraph's response cache, when present
        except Exception as error:  # noqa: BLE001
            entry["error"] = f"{type(error).__name__}: {error}"[:400]
            say(f"{contender.name} {workload}: {entry['error'][:200]}")
            return entry
        if contender.sequential_only:
            n = 3 if self.ds.mines <= 200_000 else 1
            samples = []
            for _ in range(n):
                ms, body, _r = timed_post(self.client, url, req.body, req.headers)
                samples.append(ms)
            entry["sequential"] = summarize(samples)
            say(f"{contender.name} {workload}: sequential p50 {entry['sequential']['p50_ms']} ms (n={n})")
            return entry
        entry["closed"] = {}
        for c in self.args.connections:
            try:
                result = run_wrk(url, req.body, req.headers, c, self.args.duration)
            except Exception as error:  # noqa: BLE001 - recorded, the run goes on
                entry["error"] = f"wrk at {c} connections: {type(error).__name__}: {error}"[:400]
                say(f"{contender.name} {workload}: {entry['error'][:200]}")
                return entry
            entry["closed"][str(c)] = result
            result["drain_s"] = round(self.server.wait_idle(), 2)
            say(f"{contender.name} {workload} c={c}: {result['rps']} req/s, p50 {result['p50_ms']} ms, "
                f"p99 {result['p99_ms']} ms, errors {result['errors']}")
        rate = OPEN_LOOP_RATE[workload]
        if self.args.open_loop_s > 0:
            try:
                entry["open"] = run_open_loop(url, req.body, req.headers, rate, self.args.open_loop_s)
            except Exception as error:  # noqa: BLE001
                entry["open_error"] = f"{type(error).__name__}: {error}"[:300]
                return entry
            o = entry["open"]
            o["drain_s"] = round(self.server.wait_idle(), 2)
            say(f"{contender.name} {workload} open loop {rate}/s: p50 {o['p50_ms']} ms, p99 {o['p99_ms']} ms, "
                f"errors {o['errors']}")
        return entry

    def drilldown_sequential(self, contender: Contender, base: str) -> dict:
        """Drill-downs one at a time: repeated with nothing in between, and (minegraph) right after a write."""
        out: dict = {}
        req = contender.request("drilldown")
        self.server.wait_idle()
        timed_post(self.client, base + req.path, req.body, req.headers)  # warm
        repeated, caches, errors = [], [], 0
        for _ in range(SEQUENTIAL_N):
            ms, body, response = timed_post(self.client, base + req.path, req.body, req.headers)
            repeated.append(ms)
            caches.append(response.headers.get("x-cache", "-"))
            errors += bool(body.get("errors")) or response.status_code != 200
        out["repeated"] = summarize(repeated)
        out["repeated"]["errors"] = errors
        out["repeated_x_cache"] = caches
        if isinstance(contender, Minegraph):
            after, hashes, write_ms, cache, errors = [], set(), [], [], 0
            for i in range(SEQUENTIAL_N):
                w = contender.write(i)
                wms, wbody, _r = timed_post(self.client, base + w.path, w.body, w.headers)
                if wbody.get("errors"):
                    out["write_error"] = json.dumps(wbody["errors"], ensure_ascii=False)[:300]
                write_ms.append(wms)
                ms, body, response = timed_post(self.client, base + req.path, req.body, req.headers)
                errors += bool(body.get("errors")) or response.status_code != 200
                after.append(ms)
                cache.append(response.headers.get("x-cache", "-"))
                try:
                    hashes.add(digest(contender.canonical("drilldown", body)))
                except ValueError as error:
                    hashes.add(f"error: {error}"[:100])
            out["after_write"] = summarize(after)
            out["after_write"]["hashes"] = sorted(hashes)
            out["after_write"]["x_cache"] = cache
            out["after_write"]["errors"] = errors
            out["write"] = summarize(write_ms)
        # The list pages one at a time too: after a write they are answered without the response
        # cache, which is what shows whether paging is keyset (depth-independent) or OFFSET.
        out["lists"] = {}
        for workload in ("list_1", "list_5000"):
            if workload not in contender.workloads:
                continue
            lreq = contender.request(workload)
            lists: dict = {}
            series = [("repeated", None)] + ([("after_write", contender)] if isinstance(contender, Minegraph) else [])
            for kind, writer in series:
                samples, errors = [], 0
                for i in range(SEQUENTIAL_N):
                    if writer is not None:
                        w = writer.write(i)
                        timed_post(self.client, base + w.path, w.body, w.headers)
                    ms, body, response = timed_post(self.client, base + lreq.path, lreq.body, lreq.headers)
                    samples.append(ms)
                    errors += bool(body.get("errors")) or response.status_code != 200
                lists[kind] = summarize(samples)
                lists[kind]["errors"] = errors
            out["lists"][workload] = lists
        say(f"{contender.name} drill-down sequential: repeated p50 {out['repeated']['p50_ms']} ms"
            + (f", after a write p50 {out['after_write']['p50_ms']} ms" if "after_write" in out else ""))
        return out

    # ------------------------------------------------------------------ statements per request
    def sqlcount(self, contender: Contender) -> dict:
        say(f"{contender.name}: counting SQL statements in-process")
        try:
            done = subprocess.run([sys.executable, "-m", "bench.sqlcount", contender.family, contender.db,
                                   contender.db_url], cwd=ROOT, capture_output=True, text=True, timeout=600,
                                  env=dict(os.environ, PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING"))
        except subprocess.TimeoutExpired:
            return {"error": "timed out"}
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("SQLCOUNT ")), None)
        if line is None:
            return {"error": f"exit {done.returncode}: {done.stderr[-400:]}"}
        return json.loads(line[len("SQLCOUNT "):])

    def sqlcount_postgraphile(self, contender: PostGraphile) -> dict:
        """PostGraphile's statements from its DEBUG=postgraphile:postgres log (one entry per statement).

        pg_stat_statements would need shared_preload_libraries and a restart of the shared
        PostgreSQL server, which the harness does not do."""
        say("postgraphile: counting SQL statements from its debug log")
        server = contender.server(self.log_dir, debug_sql=True)
        out: dict = {"method": "DEBUG=postgraphile:postgres log entries", "workloads": {}}
        try:
            server.start()
            contender.prepare(self.client, server.base)

            def count() -> int:
                text = server.log_path.read_text(errors="replace")
                return sum(1 for line in text.splitlines() if " postgraphile:postgres " in line[:60])

            time.sleep(0.5)
            for workload in contender.workloads:
                req = contender.request(workload)
                counts = []
                for _ in range(2):
                    before = count()
                    timed_post(self.client, server.base + req.path, req.body, req.headers)
                    time.sleep(0.3)  # let the log flush
                    counts.append(count() - before)
                out["workloads"][workload] = {"first": counts[0], "repeated": counts[1]}
        except Exception as error:  # noqa: BLE001
            out["error"] = f"{type(error).__name__}: {error}"[:300]
        finally:
            server.stop()
        return out


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
    args = p.parse_args(argv)
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

    waited = {"s": 0.0}

    def quiet() -> None:
        if args.wait_quiet > waited["s"]:
            waited["s"] += wait_quiet(args.wait_quiet - waited["s"])

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
    meta["waited_for_quiet_s"] = round(waited["s"], 1)
    results = {"meta": meta, "contenders": contenders, "sql": sql}
    out_dir = Path(args.out)
    paths = report.write(results, out_dir)
    say(f"done in {meta['total_s']:.0f} s: " + ", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT)
                                                      else str(p) for p in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
