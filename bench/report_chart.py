"""The PNG chart: req/s per workload and connection count, drill-down p50 one at a time, peak RSS."""

from __future__ import annotations

from pathlib import Path

from bench.report_common import CONTENDER_ORDER, WORKLOAD_ORDER, lookup


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    C = results["contenders"]
    names = [n for n in CONTENDER_ORDER if n in C and n != "hello"]
    colors = {"minegraph-sqlite": "#1f77b4", "minegraph-postgres": "#6baed6", "floor-sqlite": "#2ca02c",
              "floor-postgres": "#98df8a", "postgraphile": "#d62728", "naive-sqlite": "#7f7f7f",
              "naive-postgres": "#c7c7c7"}
    fig, axes = plt.subplots(2, 4, figsize=(20, 9))
    for ax, w in zip(axes.flat, WORKLOAD_ORDER, strict=False):
        conns = [str(c) for c in results["meta"]["connections"]]
        width = 0.8 / max(1, len(names))
        for i, n in enumerate(names):
            closed = lookup(C[n], "workloads", w, "closed") or {}
            values = [closed.get(c, {}).get("rps", 0) for c in conns]
            if not any(values):
                continue
            ax.bar([j + i * width for j in range(len(conns))], values, width, label=n, color=colors.get(n))
        hello = lookup(C.get("hello"), "workloads", "hello", "closed") or {}
        if w == "dashboard" and hello:
            ax.plot([j + 0.4 for j in range(len(conns))], [hello.get(c, {}).get("rps", 0) for c in conns],
                    "k--", marker="o", label="hello (ceiling)")
        hits = any(lookup(C[n], "workloads", w, "x_cache") == "hit" for n in names)
        ax.set_title(f"{w}: req/s (wrk{'; minegraph: cache hits' if hits else ''})")
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(conns))], [f"{c} conn" for c in conns])
        ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    ax = axes.flat[6]
    labels, values, cols = [], [], []
    for n in names:
        seq = C[n].get("drilldown_sequential")
        if seq:
            if lookup(seq, "after_write", "p50_ms"):
                labels.append(f"{n}\nafter write")
                values.append(seq["after_write"]["p50_ms"])
                cols.append(colors.get(n))
            labels.append(f"{n}\nrepeated")
            values.append(seq["repeated"]["p50_ms"])
            cols.append(colors.get(n))
        naive = lookup(C[n], "workloads", "drilldown", "sequential", "p50_ms")
        if naive:
            labels.append(n)
            values.append(naive)
            cols.append(colors.get(n))
    ax.barh(range(len(values)), values, color=cols)
    ax.set_yticks(range(len(values)), labels, fontsize=7)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_title("drill-down p50 ms, one at a time (log)")
    ax.grid(axis="x", alpha=0.3)
    ax = axes.flat[7]
    rss = [(n, C[n].get("peak_rss_mb")) for n in CONTENDER_ORDER if C.get(n, {}).get("peak_rss_mb")]
    ax.barh(range(len(rss)), [v for _, v in rss], color=[colors.get(n, "#000000") for n, _ in rss])
    ax.set_yticks(range(len(rss)), [n for n, _ in rss], fontsize=8)
    ax.invert_yaxis()
    ax.set_title("peak RSS MB (server process)")
    ax.grid(axis="x", alpha=0.3)
    handles, labels = axes.flat[1].get_legend_handles_labels()
    h2, l2 = axes.flat[0].get_legend_handles_labels()
    for h, lab in zip(h2, l2, strict=True):
        if lab not in labels:
            handles.append(h)
            labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=9, fontsize=9)
    meta = results["meta"]
    fig.suptitle(f"minegraph benchmark {meta['date']}, {meta['mines']:,} mines, "
                 f"{meta.get('machine', {}).get('cores')} cores", y=0.995)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    fig.savefig(path, dpi=80)
    plt.close(fig)
