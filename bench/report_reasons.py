"""The reason column of the targets table: why a target has no figure, and what the
in-process measurements say about a miss."""

from __future__ import annotations

from bench.report_common import lookup


def not_measured(c: dict | None, what: str) -> str:
    """Why a contender has no figure for a target: not run, did not start, or answered with errors."""
    if c is None:
        return f"not measured: {what} not run"
    if c.get("status") != "ok":
        return f"not measured: {what}: {c.get('reason', '?')[:200]}"
    errors = [f"{w}: {e['error'][:120]}" for w, e in (c.get("workloads") or {}).items() if e.get("error")]
    seq_errors = [k for k in ("repeated", "after_write") if lookup(c, "drilldown_sequential", k, "errors")]
    if errors or seq_errors:
        return (f"not measured: {what} answered with errors ("
                + "; ".join(errors + [f"{k} drill-downs" for k in seq_errors]) + ")")
    return f"not measured: {what} has no such figure"


def drilldown_reason(results: dict, db: str) -> str:
    """Where minegraph's drill-down after a write spends its time, from the in-process SQL count."""
    mg = lookup(results, "sql", f"minegraph-{db}", "workloads", "drilldown") or {}
    fl = lookup(results, "sql", f"floor-{db}", "workloads", "drilldown") or {}
    if not mg.get("after_write_total_ms"):
        return ""
    sql, total = mg["after_write_sql_ms"], mg["after_write_total_ms"]
    text = (f"in-process after a write minegraph sends {mg.get('after_write')} statements, {sql:.0f} ms inside the "
            f"driver of {total:.0f} ms; the other {total - sql:.0f} ms is GraphQL execution and serialization of "
            f"{mg.get('fields', 0):,} fields")
    if fl.get("repeated_total_ms"):
        text += (f" (the floor: {fl.get('repeated')} statements, {fl['repeated_sql_ms']:.0f} ms SQL of "
                 f"{fl['repeated_total_ms']:.0f} ms, the same JSON built in "
                 f"{fl['repeated_total_ms'] - fl['repeated_sql_ms']:.0f} ms)")
    return text


def rss_reason(c: dict) -> str:
    """Which workload raised the peak resident set (VmHWM is read after each one)."""
    steps, before = [], 0.0
    for w, e in (c.get("workloads") or {}).items():
        after = e.get("peak_rss_mb_after")
        if after is None:
            continue
        if after - before >= 10:
            steps.append(f"{w} {before:.0f} → {after:.0f} MB")
        before = max(before, after)
    if not steps:
        return "see the peak RSS table"
    text = "peak resident set by workload: " + ", ".join(steps)
    if any(s.startswith("login") for s in steps):
        text += (" (each argon2id verification holds 64 MiB, and concurrent logins run in parallel worker "
                 "threads)")
    return text

