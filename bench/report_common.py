"""What the report's parts share: the order of workloads and contenders, a lookup into the
results that tolerates what a run did not measure, and how numbers are written."""

from __future__ import annotations

WORKLOAD_ORDER = ("dashboard", "drilldown", "drilldown_filtered", "list_1", "list_5000", "login")
CONTENDER_ORDER = ("minegraph-sqlite", "minegraph-postgres", "floor-sqlite", "floor-postgres", "postgraphile",
                   "naive-sqlite", "naive-postgres", "hello")
DBS = ("sqlite", "postgres")


def lookup(d: object, *path, default=None):
    """d[path[0]][path[1]]…, or default where a key is missing or a level is not a dict."""
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


def fmt(x, digits: int = 1) -> str:
    """A table cell: "–" for nothing, thousands separators, `digits` decimals below 100."""
    if x is None:
        return "–"
    if isinstance(x, float):
        if abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)
