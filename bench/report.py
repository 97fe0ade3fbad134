"""The results: JSON (everything), Markdown (tables, targets, machine, commands), PNG (chart).

This module names and writes the three files; the targets are evaluated in report_targets.py,
the Markdown is rendered in report_markdown.py and the chart drawn in report_chart.py."""

from __future__ import annotations

import json
from pathlib import Path

from bench.report_chart import chart
from bench.report_markdown import markdown
from bench.report_targets import hash_check, targets

__all__ = ["chart", "hash_check", "markdown", "stem", "targets", "write"]


def stem(meta: dict) -> str:
    """The file name without extension: the date, the mine count when it is not 100,000, and
    the run's label (`--label`) if it has one."""
    return (meta["date"] + ("" if meta["mines"] == 100_000 else f"-{meta['mines']}")
            + (f"-{meta['label']}" if meta.get("label") else ""))


def write(results: dict, out_dir: Path, name: str | None = None) -> list[Path]:
    """Write <name>.json, .md and .png into out_dir (name: stem(meta) unless given)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or stem(results["meta"])
    tgs = targets(results, out_dir)
    results["hash_check"] = hash_check(results)
    results["targets"] = tgs
    json_path, md_path, png_path = (out_dir / f"{name}.{ext}" for ext in ("json", "md", "png"))
    try:
        chart(results, png_path)
    except Exception as error:  # noqa: BLE001 - the numbers matter more than the picture
        png_path = None
        results["chart_error"] = f"{type(error).__name__}: {error}"
    json_path.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    md_path.write_text(markdown(results, tgs, f"{name}.png" if png_path else "(chart failed)"))
    return [p for p in (md_path, json_path, png_path) if p]


if __name__ == "__main__":  # re-render the Markdown and chart from a results JSON, in place
    import sys

    source = Path(sys.argv[1])
    for p in write(json.loads(source.read_text()), source.parent, name=source.stem):
        print(p)
