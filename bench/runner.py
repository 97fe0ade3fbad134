"""Measuring one contender: start its server, run every workload (closed loop, open loop, one at a
time), count its SQL statements, stop it; everything recorded, failures included."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.common import ROOT, LoadMeter, Server, ServerFailed, say
from bench.contenders import Contender, Minegraph, PostGraphile
from bench.datasets import Dataset
from bench.load import run_open_loop, run_wrk, summarize, timed_post
from bench.workloads import digest

# Open loop: one fixed rate per workload, the same for every contender (requests/second).
OPEN_LOOP_RATE = {"dashboard": 5, "drilldown": 2, "drilldown_filtered": 2, "list_1": 20, "list_5000": 20,
                  "login": 1, "hello": 20}
SEQUENTIAL_N = 10  # drill-downs measured one at a time (after a write / repeated)


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
