"""The targets: each ratio the benchmark promises, evaluated from a run's results
(PASS / FAIL / n/a with the measured figure and, for a miss, the reason)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import RESULTS
from bench.report_common import DBS, WORKLOAD_ORDER, lookup
from bench.report_reasons import drilldown_reason, not_measured, rss_reason

ONE_MILLION = 1_000_000
TIME_BUDGET_S = 15 * 60


def hash_check(results: dict) -> dict:
    out = {}
    for workload in WORKLOAD_ORDER:
        hashes = {}
        for name, c in results["contenders"].items():
            h = lookup(c, "workloads", workload, "hash")
            if h:
                hashes[name] = h
        for name, c in results["contenders"].items():
            # minegraph's answers right after each write must carry the same counts.
            if workload == "drilldown":
                for i, h in enumerate(lookup(c, "drilldown_sequential", "after_write", "hashes", default=[])):
                    hashes[f"{name} (after write{'' if i == 0 else f' #{i + 1}'})"] = h
        if hashes:
            out[workload] = {"hashes": hashes, "agree": len(set(hashes.values())) == 1}
    return out



def _target(tid: str, text: str, scope: str, measured: str, ratio, limit: str, ok, reason: str = "") -> dict:
    status = "n/a" if ok is None else ("PASS" if ok else "FAIL")
    return {"id": tid, "target": text, "scope": scope, "measured": measured,
            "ratio": None if ratio is None else round(ratio, 3), "limit": limit, "status": status, "reason": reason}


def _seq(c: dict | None, kind: str) -> float | None:
    """p50 of a sequential drill-down series, None when any answer was an error."""
    s = lookup(c, "drilldown_sequential", kind)
    if not s or s.get("errors"):
        return None
    return s.get("p50_ms")


def _one_million(results: dict, results_dir: Path) -> tuple[dict | None, str]:
    """The 1M figures: this run at 1M mines, else the newest 1M run (`*-1000000[-label].json`)
    beside the report, by when it started."""
    if results["meta"]["mines"] >= ONE_MILLION:
        return results, "this run"
    found = []
    for path in {*results_dir.glob(f"*-{ONE_MILLION}.json"), *results_dir.glob(f"*-{ONE_MILLION}-*.json")}:
        try:
            run = json.loads(path.read_text())
            found.append((run["meta"].get("started", ""), path.name, run))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    if not found:
        return None, ""
    _started, name, run = max(found, key=lambda f: (f[0], f[1]))
    return run, name


def targets(results: dict, results_dir: Path = RESULTS) -> list[dict]:
    C = results["contenders"]
    meta = results["meta"]
    out: list[dict] = []

    checks = hash_check(results)
    disagree = [w for w, v in checks.items() if not v["agree"]]
    out.append(_target(
        "hash", "Every contender returns the same counts (hash of the returned counts)", "all",
        f"{len(checks) - len(disagree)}/{len(checks)} workloads agree", None, "all agree",
        not disagree if checks else None,
        "; ".join(f"{w}: " + ", ".join(f"{n}={h}" for n, h in checks[w]["hashes"].items()) for w in disagree)))

    for db in DBS:
        mg, fl = C.get(f"minegraph-{db}"), C.get(f"floor-{db}")
        a = _seq(mg, "after_write")
        r = _seq(mg, "repeated")
        f = _seq(fl, "repeated")
        if a and f:
            ratio = a / f
            out.append(_target("after_write", "Full drill-down, first request after a write: p50 ≤ 2.5 × the floor",
                               db, f"{a:.1f} ms vs floor {f:.1f} ms", ratio, "≤ 2.5", ratio <= 2.5,
                               "" if ratio <= 2.5 else drilldown_reason(results, db)))
        else:
            out.append(_target("after_write", "Full drill-down, first request after a write: p50 ≤ 2.5 × the floor",
                               db, not_measured(mg if not a else fl, f"minegraph-{db}" if not a else f"floor-{db}"),
                               None, "≤ 2.5", None))
        if r and f:
            ratio = r / f
            reason = ""
            if ratio > 0.3:
                rep = lookup(results, "sql", f"minegraph-{db}", "workloads", "drilldown") or {}
                caches = lookup(mg, "drilldown_sequential", "repeated_x_cache", default=[])
                reason = (f"repeated drill-down still takes {r:.1f} ms (X-Cache: {', '.join(sorted(set(caches))) or 'none'}; "
                          f"in-process {rep.get('repeated')} statements, {rep.get('repeated_sql_ms')} ms SQL of "
                          f"{rep.get('repeated_total_ms')} ms)")
            out.append(_target("repeated", "The same drill-down repeated, no write in between: p50 ≤ 0.3 × the floor",
                               db, f"{r:.1f} ms vs floor {f:.1f} ms", ratio, "≤ 0.3", ratio <= 0.3, reason))
        else:
            out.append(_target("repeated", "The same drill-down repeated, no write in between: p50 ≤ 0.3 × the floor",
                               db, not_measured(mg if not r else fl, f"minegraph-{db}" if not r else f"floor-{db}"),
                               None, "≤ 0.3", None))

    pgl = C.get("postgraphile")
    for db in DBS:
        mg = C.get(f"minegraph-{db}")
        for w in WORKLOAD_ORDER:
            text = f"{w} at 4 connections: req/s ≥ PostGraphile's, p99 no worse"
            m4 = lookup(mg, "workloads", w, "closed", "4")
            p4 = lookup(pgl, "workloads", w, "closed", "4")
            if w == "login" and pgl and pgl.get("status") == "ok":
                out.append(_target("vs_postgraphile", text, db, lookup(pgl, "workloads", "login", "error", default="n/a"),
                                   None, "≥ 1.0", None))
                continue
            if not m4 or not p4 or m4.get("p99_ms") is None or p4.get("p99_ms") is None:
                who = mg if not m4 else pgl
                out.append(_target("vs_postgraphile", text, db,
                                   not_measured(who, f"minegraph-{db}" if not m4 else "postgraphile"), None, "≥ 1.0", None))
                continue
            ratio = m4["rps"] / p4["rps"] if p4["rps"] else None
            ok = ratio is not None and ratio >= 1.0 and m4["p99_ms"] <= p4["p99_ms"] and m4["errors"] == 0
            reason = ""
            if not ok:
                parts = []
                if ratio is not None and ratio < 1.0:
                    parts.append(f"throughput {m4['rps']} vs {p4['rps']} req/s")
                if m4["p99_ms"] > p4["p99_ms"]:
                    parts.append(f"p99 {m4['p99_ms']} ms vs {p4['p99_ms']} ms")
                if m4["errors"]:
                    parts.append(f"{m4['errors']} errors")
                sq = lookup(results, "sql", f"minegraph-{db}", "workloads", w) or {}
                if sq.get("repeated_total_ms") is not None:
                    parts.append(f"in-process a repeated request costs minegraph {sq['repeated']} statements and "
                                 f"{sq['repeated_total_ms']} ms ({sq['repeated_sql_ms']} ms in SQL)")
                reason = "; ".join(parts)
            hit = " (minegraph answering from its response cache)" if lookup(mg, "workloads", w, "x_cache") == "hit" else ""
            out.append(_target("vs_postgraphile", text, db,
                               f"{m4['rps']} vs {p4['rps']} req/s; p99 {m4['p99_ms']} vs {p4['p99_ms']} ms{hit}",
                               ratio, "≥ 1.0, p99 ≤", ok, reason))

    hello16 = lookup(C.get("hello"), "workloads", "hello", "closed", "16")
    for db in DBS:
        mg = C.get(f"minegraph-{db}")
        d16 = lookup(mg, "workloads", "dashboard", "closed", "16")
        text = "Dashboard at 16 connections: ≥ 0.6 × bare Strawberry hello req/s, p99 ≤ 50 ms"
        if d16 and hello16 and d16.get("p99_ms") is not None:
            ratio = d16["rps"] / hello16["rps"]
            ok = ratio >= 0.6 and d16["p99_ms"] <= 50 and d16["errors"] == 0
            parts = []
            if ratio < 0.6:
                sq = lookup(results, "sql", f"minegraph-{db}", "workloads", "dashboard") or {}
                parts.append(f"{d16['rps']} vs hello {hello16['rps']} req/s (a cached dashboard still runs "
                             f"{sq.get('repeated', '?')} statements, {sq.get('repeated_total_ms', '?')} ms in-process)")
            if d16["p99_ms"] > 50:
                parts.append(f"p99 {d16['p99_ms']} ms")
            hit = " (cache hits)" if lookup(mg, "workloads", "dashboard", "x_cache") == "hit" else ""
            out.append(_target("dashboard_vs_hello", text, db,
                               f"{d16['rps']} vs {hello16['rps']} req/s; p99 {d16['p99_ms']} ms{hit}", ratio,
                               "≥ 0.6, p99 ≤ 50 ms", ok, "; ".join(parts)))
        else:
            out.append(_target("dashboard_vs_hello", text, db,
                               not_measured(mg if not d16 else C.get("hello"), f"minegraph-{db}" if not d16 else "hello"),
                               None, "≥ 0.6", None))

    for db in DBS:
        mg = C.get(f"minegraph-{db}")

        def list_p50(workload: str, kind: str) -> float | None:
            s = lookup(mg, "drilldown_sequential", "lists", workload, kind)
            return None if not s or s.get("errors") else s.get("p50_ms")

        l1, l5 = list_p50("list_1", "after_write"), list_p50("list_5000", "after_write")
        c1, c5 = list_p50("list_1", "repeated"), list_p50("list_5000", "repeated")
        text = ("List page at depth 5,000 within 1.2 × depth 1 (p50, one at a time, each right after a write "
                "so the response cache cannot answer)")
        if l1 and l5:
            ratio = l5 / l1
            cached = f"; cached: {c5:.1f} vs {c1:.1f} ms" if c1 and c5 else ""
            reason = ""
            if ratio > 1.2:
                sq = lookup(results, "sql", f"minegraph-{db}", "workloads") or {}
                reason = (f"in-process, first request: depth 1 {lookup(sq, 'list_1', 'first')} statements, "
                          f"{lookup(sq, 'list_1', 'first_sql_ms')} ms SQL of {lookup(sq, 'list_1', 'first_total_ms')} ms; "
                          f"depth 5,000 {lookup(sq, 'list_5000', 'first')} statements, "
                          f"{lookup(sq, 'list_5000', 'first_sql_ms')} ms SQL of {lookup(sq, 'list_5000', 'first_total_ms')} ms")
            out.append(_target("list_depth", text, db, f"{l5:.1f} ms vs {l1:.1f} ms{cached}", ratio, "≤ 1.2",
                               ratio <= 1.2, reason))
        else:
            out.append(_target("list_depth", text, db, not_measured(mg, f"minegraph-{db}"), None, "≤ 1.2", None))

    big, source = _one_million(results, results_dir)
    for db in DBS:
        text_d = "1M mines: drill-down p50 ≤ 150 ms after a write"
        text_r = "1M mines: peak RSS per worker ≤ 300 MB"
        mg = lookup(big, "contenders", f"minegraph-{db}") if big else None
        a = _seq(mg, "after_write")
        rss = lookup(mg, "peak_rss_mb")
        where = "" if source == "this run" else f" (from {source})"
        if a:
            reason = "" if a <= 150 else drilldown_reason(big, db)
            out.append(_target("1m_drilldown", text_d, db, f"{a:.1f} ms{where}", a / 150, "≤ 150 ms", a <= 150, reason))
        else:
            out.append(_target("1m_drilldown", text_d, db,
                               "not measured in this run: `make bench MINES=1000000`" if not big
                               else not_measured(mg, f"minegraph-{db} at 1M"), None, "≤ 150 ms", None))
        if rss:
            reason = ""
            if rss > 300:
                reason = rss_reason(mg)
                if reason == "see the peak RSS table" and big is not results:
                    here = rss_reason(C.get(f"minegraph-{db}") or {})
                    if here != "see the peak RSS table":
                        reason = f"that run did not split the peak by workload; this run ({meta['mines']:,} mines): {here}"
            out.append(_target("1m_rss", text_r, db, f"{rss:.0f} MB{where}", rss / 300, "≤ 300 MB", rss <= 300, reason))
        else:
            out.append(_target("1m_rss", text_r, db,
                               "not measured in this run: `make bench MINES=1000000`" if not big
                               else not_measured(mg, f"minegraph-{db} at 1M"), None, "≤ 300 MB", None))

    for db in DBS:
        mg, nv = C.get(f"minegraph-{db}"), C.get(f"naive-{db}")
        n = lookup(nv, "workloads", "drilldown", "sequential", "p50_ms")
        a = _seq(mg, "after_write")
        r = _seq(mg, "repeated")
        text = "N+1 baseline ≥ 20 × slower than minegraph (drill-down p50; minegraph after a write, i.e. uncached)"
        if n and a:
            ratio = n / a
            reason = ""
            if ratio < 20:
                ns = lookup(results, "sql", f"naive-{db}", "workloads", "drilldown", "first")
                reason = (f"the N+1 baseline sends {ns} statements in {n:.0f} ms; minegraph after a write takes "
                          f"{a:.0f} ms (its own GraphQL execution dominates: see the first target)"
                          + (f"; against minegraph's repeated (cached) drill-down, {r:.1f} ms, it is {n / r:.0f} ×" if r else ""))
            out.append(_target("n_plus_1", text, db, f"{n:.0f} ms vs {a:.1f} ms", ratio, "≥ 20", ratio >= 20, reason))
        else:
            out.append(_target("n_plus_1", text, db,
                               not_measured(nv if not n else mg, f"naive-{db}" if not n else f"minegraph-{db}"),
                               None, "≥ 20", None))

    total = meta.get("total_s")
    if meta["mines"] == 100_000 and total:
        waited = meta.get("waited_for_quiet_s") or 0.0
        net = total - waited
        measured = f"{net / 60:.1f} min" + (f" (plus {waited / 60:.1f} min waiting for other processes to finish)"
                                             if waited else "")
        out.append(_target("time", "`make bench` end to end under 15 minutes at 100k", "all", measured,
                           net / TIME_BUDGET_S, "≤ 15 min", net <= TIME_BUDGET_S,
                           "" if net <= TIME_BUDGET_S else "the run took longer than the budget"))
    return out
