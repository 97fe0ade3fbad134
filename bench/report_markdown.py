"""The Markdown report: targets, counts hashes, the tables per workload, processes, machine and commands."""

from __future__ import annotations

from bench.report_common import CONTENDER_ORDER, WORKLOAD_ORDER, fmt, lookup
from bench.report_targets import hash_check


def _sql_cell(results: dict, name: str, workload: str) -> str:
    s = lookup(results, "sql", name, "workloads", workload)
    if not s:
        err = lookup(results, "sql", name, "error")
        return "n/a" if not err else "n/a"
    parts = [str(s.get("first", "?"))]
    if "repeated" in s:
        parts.append(str(s["repeated"]))
    if "after_write" in s:
        parts.append(f"{s['after_write']} after write")
    return " / ".join(parts)


def markdown(results: dict, tgs: list[dict], png_name: str) -> str:
    meta = results["meta"]
    C = results["contenders"]
    m = meta.get("machine", {})
    names = [n for n in CONTENDER_ORDER if n in C] + [n for n in C if n not in CONTENDER_ORDER]
    lines: list[str] = []
    add = lines.append
    add(f"# minegraph benchmark — {meta['date']}, {meta['mines']:,} mines")
    add("")
    make = "make bench" + ("" if meta["mines"] == 100_000 else f" MINES={meta['mines']}")
    add(f"`{make}` on {m.get('cores')} cores "
        f"({m.get('cpu')}), {m.get('memory_gib')} GiB, commit `{m.get('git')}`{' (with uncommitted changes)' if m.get('git_dirty') else ''}; "
        f"whole run {meta.get('total_s', 0) / 60:.1f} min. Every contender ran alone, one after another, on the "
        f"same data, with {meta['workers']} server process{'es' if meta['workers'] > 1 else ''}. "
        f"Each wrk point is only **{fmt(meta['duration_s'])} s** and each open-loop point "
        f"**{fmt(meta['open_loop_s'])} s**: short runs on a 2-core machine where the load generator shares the CPU "
        f"with the server, so treat differences under ~10 % as noise.")
    add("")
    busy = {n: lookup(C[n], "machine_load", "foreign_cpu_pct") for n in names}
    busy = {n: v for n, v in busy.items() if v is not None and v > 10}
    if busy:
        add("")
        add("> **Warning: the machine was not quiet.** Other processes (not this benchmark) used "
            + ", ".join(f"{v:.0f} % of the CPU during {n}" for n, v in busy.items())
            + ". Their figures are pessimistic and noisy; compare ratios within a contender with care.")
    add("")
    add(f"![chart]({png_name})")
    add("")
    add("## Targets")
    add("")
    add("Ratios come from this run only (a benchmark, not a timed test).")
    add("")
    add("| target | minegraph on | measured | ratio | limit | result | reason (measured) |")
    add("|---|---|---|---|---|---|---|")
    for t in tgs:
        status = {"PASS": "PASS", "FAIL": "**FAIL**", "n/a": "n/a"}[t["status"]]
        add(f"| {t['target']} | {t['scope']} | {t['measured']} | {fmt(t['ratio'], 2)} | {t['limit']} | {status} | "
            f"{t['reason'] or ''} |")
    add("")

    # Counts hash
    add("## Counts-hash agreement")
    add("")
    add("SHA-256 (first 16 hex digits) of the counts each contender returned for a workload: every node's "
        "total, large, medium, small, over30Workers, over800mDepth (drill-downs); the totals and per-category "
        "counts (dashboard); totalCount, the page's mine codes and hasNextPage (lists). minegraph's drill-downs "
        "right after each write are hashed too.")
    add("")
    checks = hash_check(results)
    add("| workload | agree | hashes |")
    add("|---|---|---|")
    for w, v in checks.items():
        groups: dict[str, list[str]] = {}
        for n, h in v["hashes"].items():
            groups.setdefault(h, []).append(n)
        cell = "; ".join(f"`{h}`: {', '.join(ns)}" for h, ns in groups.items())
        add(f"| {w} | {'yes' if v['agree'] else '**NO**'} | {cell} |")
    add("")

    # Drill-down sequential
    add("## Drill-down, one request at a time")
    add("")
    add(f"{meta['sequential_n']} sequential requests each (the N+1 baseline: "
        f"{'3' if meta['mines'] <= 200_000 else '1'}). *After a write*: a `setGuarantor` (which changes no count) "
        "by the mine's county account, then one national drill-down, repeated; *repeated*: the same drill-down "
        "again and again with nothing in between.")
    add("")
    add("| contender | repeated p50 ms | repeated p99 ms | after a write p50 ms | after a write p99 ms | write p50 ms | SQL statements (first / repeated / after write) |")
    add("|---|---|---|---|---|---|---|")
    for n in names:
        c = C[n]
        seq = c.get("drilldown_sequential")
        naive = lookup(c, "workloads", "drilldown", "sequential")
        if seq:
            add(f"| {n} | {fmt(seq['repeated']['p50_ms'])} | {fmt(seq['repeated']['p99_ms'])} | "
                f"{fmt(lookup(seq, 'after_write', 'p50_ms'))} | {fmt(lookup(seq, 'after_write', 'p99_ms'))} | "
                f"{fmt(lookup(seq, 'write', 'p50_ms'))} | {_sql_cell(results, n, 'drilldown')} |")
        elif naive:
            add(f"| {n} | {fmt(naive['p50_ms'])} | {fmt(naive['p99_ms'])} | – | – | – | "
                f"{_sql_cell(results, n, 'drilldown')} |")
    add("")

    add("List pages one at a time (p50 ms; after a write = uncached for minegraph):")
    add("")
    add("| contender | list_1 repeated | list_5000 repeated | list_1 after a write | list_5000 after a write |")
    add("|---|---|---|---|---|")
    for n in names:
        lists = lookup(C[n], "drilldown_sequential", "lists")
        if lists:
            cells = [fmt(lookup(lists, w, k, "p50_ms")) for k in ("repeated", "after_write") for w in ("list_1", "list_5000")]
            add(f"| {n} | " + " | ".join(cells) + " |")
    add("")

    # Per workload
    add("## Results per workload")
    add("")
    add("Closed loop: wrk, 1 thread, C keep-alive connections. Open loop: fixed rate, latency from the scheduled "
        "send time, at most 64 in flight. Errors: socket errors, non-200 answers and answers with GraphQL `errors`. "
        "SQL statements per request: first / repeated request (in-process count; PostGraphile: its debug log). "
        "*(cache hit)*: minegraph answered the warm-up request from its response cache, and nothing writes during "
        "closed- or open-loop load, so those rows measure cache hits; the uncached figures are the \"after a write\" "
        "columns of the one-at-a-time tables.")
    add("")
    from bench.workloads import WORKLOADS

    for w in WORKLOAD_ORDER:
        if not any(w in (lookup(C[n], "workloads") or {}) for n in names):
            continue
        add(f"### {w}")
        add("")
        add(WORKLOADS[w] + ".")
        add("")
        add("| contender | load | req/s | p50 ms | p99 ms | errors | SQL / request |")
        add("|---|---|---|---|---|---|---|")
        for n in names:
            e = lookup(C[n], "workloads", w)
            if e is None:
                continue
            if "error" in e:
                add(f"| {n} | – | – | – | – | {e['error'][:160]} | – |")
                continue
            sql = _sql_cell(results, n, w)
            label = n + (" (cache hit)" if e.get("x_cache") == "hit" else "")
            for conns, r in (e.get("closed") or {}).items():
                add(f"| {label} | {conns} conn | {fmt(r['rps'])} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | "
                    f"{r['errors']} | {sql} |")
            if e.get("open"):
                o = e["open"]
                dropped = f" ({o['dropped']} dropped)" if o["dropped"] else ""
                add(f"| {label} | open {o['rate']}/s | {fmt(o['achieved_rps'])} | {fmt(o['p50_ms'])} | "
                    f"{fmt(o['p99_ms'])} | {o['errors']}{dropped} | {sql} |")
            if e.get("sequential"):
                s = e["sequential"]
                add(f"| {n} | sequential ×{s['n']} | {fmt(1000 / s['p50_ms'] if s['p50_ms'] else None)} | "
                    f"{fmt(s['p50_ms'])} | {fmt(s['p99_ms'])} | 0 | {sql} |")
        add("")
    hello = lookup(C.get("hello"), "workloads", "hello", "closed")
    if hello:
        add("### hello (bare Strawberry, the ceiling of the stack)")
        add("")
        add("| load | req/s | p50 ms | p99 ms | errors |")
        add("|---|---|---|---|---|")
        for conns, r in hello.items():
            add(f"| {conns} conn | {fmt(r['rps'])} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | {r['errors']} |")
        add("")

    add("## Processes")
    add("")
    add("Peak RSS: VmHWM of the server process (and each worker) read from /proc just before it was stopped.")
    add("")
    add("Background CPU: the share of the machine's CPU that processes other than the benchmark (its harness, "
        "load generators, the server, PostgreSQL) used while the contender ran; above a few % the figures are noisy.")
    add("")
    add("| contender | status | peak RSS MB | start-up s | measured for s | background CPU % | load avg | command |")
    add("|---|---|---|---|---|---|---|---|")
    for n in names:
        c = C[n]
        status = c.get("status", "?") + (f": {c['reason'][:200]}" if c.get("reason") else "")
        ml = c.get("machine_load") or {}
        add(f"| {n} | {status} | {fmt(c.get('peak_rss_mb'))} | {fmt(c.get('start_s'))} | {fmt(c.get('seconds'))} | "
            f"{fmt(ml.get('foreign_cpu_pct'))} | {fmt(ml.get('loadavg_start'), 2)} → {fmt(ml.get('loadavg_end'), 2)} | "
            f"`{c.get('command', '')}` |")
    add("")

    add("## Machine and settings")
    add("")
    add(f"- CPU: {m.get('cpu')}, {m.get('cores')} cores; memory {m.get('memory_gib')} GiB; kernel {m.get('kernel')}")
    add(f"- Python {m.get('python')}, SQLite {m.get('sqlite')}, {m.get('postgresql', 'PostgreSQL: n/a')}, "
        f"Node {m.get('node')}, {m.get('wrk')}")
    if meta.get("postgraphile_versions"):
        v = meta["postgraphile_versions"]
        add(f"- PostGraphile {v.get('postgraphile')} with @graphile/pg-aggregates {v.get('@graphile/pg-aggregates')}"
            f" (npm install into a temp folder: {fmt(meta.get('npm_install_s'))} s; deleted afterwards)")
    add(f"- Dataset: `minegraph seed --demo --mines {meta['mines']} --seed {meta['seed']}` (code key "
        f"`{meta['dataset_key']}`), build or cache check: "
        + ", ".join(f"{k} {v} s" for k, v in meta.get("dataset_build_s", {}).items())
        + "; each run works on a fresh copy (file copy / `CREATE DATABASE … TEMPLATE`).")
    add(f"- wrk: {fmt(meta['duration_s'])} s per point at {', '.join(map(str, meta['connections']))} connections; "
        f"open loop {fmt(meta['open_loop_s'])} s per point at "
        + ", ".join(f"{k} {v}/s" for k, v in meta["open_loop_rates"].items()) + ".")
    add(f"- Servers: {meta['workers']} process each, access logs off; minegraph with its defaults (development "
        "mode: production accepts only persisted operations; response cache on) plus `SECRET_KEY=bench LOG_LEVEL=WARNING "
        "THROTTLE_LOGIN_PER_MINUTE=1000000 THROTTLE_LOGIN_BURST=1000000` (every request comes from 127.0.0.1, "
        "so the per-address login throttle is lifted for the login workload).")
    add("")
    add("## Commands")
    add("")
    add("```sh")
    add(f"{make}      # = .venv/bin/python -m bench.run " + " ".join(meta.get("argv") or []))
    add("wrk -t1 -cC -dDs --timeout 10s -s bench/wrk_post.lua http://127.0.0.1:PORT/graphql -- BODY.json 'Authorization: Bearer …'")
    add("python -m bench.sqlcount FAMILY DB DATABASE_URL   # statements per request, in-process")
    add("```")
    add("")
    add("The contenders (see bench/README.md): **minegraph** (`minegraph serve`, SQLite and PostgreSQL); "
        "**floor** (bench/floor_app.py: plain Starlette, one grouped statement per level, orjson, no auth); "
        "**naive** (bench/naive_app.py: Strawberry, one statement per node); **PostGraphile** 4 + "
        "@graphile/pg-aggregates on the same PostgreSQL database (no auth; the scale and threshold counts are "
        "sums of five bench-only computed columns such as `mine_is_large(m mine)`); **hello** (bench/hello_app.py).")
    add("")
    return "\n".join(lines)
