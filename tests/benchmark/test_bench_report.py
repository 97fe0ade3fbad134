"""The benchmark report renders from its results JSON alone.

The committed reports in bench/results/ are the fixtures: re-rendering their JSON must give back
the committed Markdown, so the report code can be reorganised without the report changing. And
what readers rely on: a missed target is marked **FAIL** with the measured reason, a contender
that did not run is "not measured", never dropped. No database and no server are needed.
"""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path

import pytest

from bench import report

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
HUNDRED_K = "2026-11-30-point-reader"
ONE_MILLION = "2026-11-30-1000000-point-reader"
AFTER_WRITE_TEXT = "Full drill-down, first request after a write: p50 ≤ 2.5 × the floor"


def committed(stem: str) -> dict:
    """A committed results file, with what report.write adds (hash_check, targets) left in."""
    return json.loads((RESULTS / f"{stem}.json").read_text(encoding="utf-8"))


def as_measured(stem: str) -> dict:
    """A committed results file as bench/run.py hands it to report.write: without the evaluation."""
    results = committed(stem)
    del results["hash_check"], results["targets"]
    return results


def row(targets: list[dict], tid: str, scope: str) -> dict:
    (found,) = [t for t in targets if t["id"] == tid and t["scope"] == scope]
    return found


# The 1M rows of a 100k report are read from the newest *-1000000.json beside it. The committed
# 100k report was rendered with none there, and the 1M reports were renamed (-point-reader) after
# their run, so every test renders into an empty tmp_path: only the JSON itself is the input.


@pytest.mark.parametrize("stem", [HUNDRED_K, ONE_MILLION])
def test_targets_recomputed_from_the_json_are_the_committed_ones(stem, tmp_path):
    results = committed(stem)
    assert report.hash_check(results) == results["hash_check"]
    assert report.targets(results, tmp_path) == results["targets"]


@pytest.mark.parametrize("stem", [HUNDRED_K, ONE_MILLION])
def test_markdown_rendered_from_the_json_is_the_committed_report(stem, tmp_path):
    results = committed(stem)
    rendered = report.markdown(results, report.targets(results, tmp_path), f"{stem}.png")
    assert rendered == (RESULTS / f"{stem}.md").read_text(encoding="utf-8")


def test_write_gives_back_the_committed_json_markdown_and_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    paths = report.write(as_measured(HUNDRED_K), tmp_path)

    # Files are named after the date and the mine count; the committed ones were renamed after the run.
    assert [p.name for p in paths] == ["2026-11-30.md", "2026-11-30.json", "2026-11-30.png"]
    md, js, png = (p.read_bytes() for p in paths)
    assert js.decode() == (RESULTS / f"{HUNDRED_K}.json").read_text(encoding="utf-8")
    assert md.decode().replace("![chart](2026-11-30.png)", f"![chart]({HUNDRED_K}.png)") == (
        RESULTS / f"{HUNDRED_K}.md").read_text(encoding="utf-8")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (20 * 80, 9 * 80)  # figsize (20, 9) at 80 dpi


def test_a_failing_chart_still_writes_the_numbers(tmp_path, monkeypatch):
    def broken_chart(results, path):
        raise RuntimeError("no display")

    monkeypatch.setattr(report, "chart", broken_chart)
    paths = report.write(as_measured(ONE_MILLION), tmp_path)

    assert [p.name for p in paths] == ["2026-11-30-1000000.md", "2026-11-30-1000000.json"]
    assert "![chart]((chart failed))" in paths[0].read_text(encoding="utf-8")
    assert not (tmp_path / "2026-11-30-1000000.png").exists()


def test_a_slower_drilldown_after_a_write_fails_with_its_reason(tmp_path):
    results = as_measured(HUNDRED_K)
    # 400 ms against the floor's 109.7 ms: 3.65 × the floor, over the 2.5 × limit.
    results["contenders"]["minegraph-sqlite"]["drilldown_sequential"]["after_write"]["p50_ms"] = 400.0
    targets = report.targets(results, tmp_path)

    failed = row(targets, "after_write", "sqlite")
    assert failed["status"] == "FAIL"
    assert failed["ratio"] == pytest.approx(400.0 / 109.7, abs=0.001)
    reason = ("in-process after a write minegraph sends 1 statements, 25 ms inside the driver of 170 ms; "
              "the other 145 ms is GraphQL execution and serialization of 26,180 fields "
              "(the floor: 1 statements, 72 ms SQL of 104 ms, the same JSON built in 32 ms)")
    assert failed["reason"] == reason
    # The N+1 baseline is compared with the same figure: 6,066 ms is now only 15 × slower.
    assert row(targets, "n_plus_1", "sqlite")["status"] == "FAIL"
    assert row(targets, "after_write", "postgres")["status"] == "PASS"

    md = report.markdown(results, targets, "chart.png").splitlines()
    assert f"| {AFTER_WRITE_TEXT} | sqlite | 400.0 ms vs floor 109.7 ms | 3.65 | ≤ 2.5 | **FAIL** | {reason} |" in md
    assert f"| {AFTER_WRITE_TEXT} | postgres | 136.2 ms vs floor 103.2 ms | 1.32 | ≤ 2.5 | PASS |  |" in md


def test_a_contender_that_did_not_start_is_not_measured(tmp_path):
    results = as_measured(HUNDRED_K)
    results["contenders"]["floor-sqlite"] = {"status": "not measured", "reason": "port already in use"}
    targets = report.targets(results, tmp_path)

    for tid in ("after_write", "repeated"):
        t = row(targets, tid, "sqlite")
        assert (t["status"], t["measured"]) == ("n/a", "not measured: floor-sqlite: port already in use")
    md = report.markdown(results, targets, "chart.png")
    assert "| floor-sqlite | not measured: port already in use |" in md


def test_counts_that_disagree_fail_the_hash_target(tmp_path):
    results = as_measured(HUNDRED_K)
    results["contenders"]["postgraphile"]["workloads"]["dashboard"]["hash"] = "0000000000000000"
    targets = report.targets(results, tmp_path)

    t = row(targets, "hash", "all")
    assert (t["status"], t["measured"]) == ("FAIL", "5/6 workloads agree")
    assert t["reason"].startswith("dashboard: ") and "postgraphile=0000000000000000" in t["reason"]
    assert "| dashboard | **NO** | `eec6c16eb8f982e8`: " in report.markdown(results, targets, "chart.png")


def test_the_1m_rows_of_a_100k_report_come_from_the_1m_run_beside_it(tmp_path):
    # As a fresh `make bench MINES=1000000` would have named it.
    (tmp_path / "2026-11-30-1000000.json").write_text(json.dumps(committed(ONE_MILLION)), encoding="utf-8")
    targets = report.targets(as_measured(HUNDRED_K), tmp_path)
    big = committed(ONE_MILLION)["targets"]

    for tid in ("1m_drilldown", "1m_rss"):
        for db in ("sqlite", "postgres"):
            here, there = row(targets, tid, db), row(big, tid, db)
            assert here["measured"] == there["measured"] + " (from 2026-11-30-1000000.json)"
            assert (here["status"], here["ratio"]) == (there["status"], there["ratio"])
    assert row(targets, "1m_drilldown", "sqlite")["status"] == "FAIL"  # 151.3 ms against 150


def test_rendering_leaves_the_results_unchanged(tmp_path):
    results = committed(HUNDRED_K)
    before = copy.deepcopy(results)
    report.markdown(results, report.targets(results, tmp_path), "chart.png")
    assert results == before


def test_of_several_1m_runs_beside_it_the_newest_is_used_whatever_its_label(tmp_path):
    older, newer = committed(ONE_MILLION), committed(ONE_MILLION)
    newer["meta"]["started"] = "2026-12-01T09:00:00+00:00"
    newer["contenders"]["minegraph-sqlite"]["drilldown_sequential"]["after_write"]["p50_ms"] = 64.1
    # Names that sort the other way round: the label, not the time, would pick the older one.
    (tmp_path / "2026-11-30-1000000-zz-older.json").write_text(json.dumps(older), encoding="utf-8")
    (tmp_path / "2026-11-30-1000000-aa-newer.json").write_text(json.dumps(newer), encoding="utf-8")
    (tmp_path / "2026-11-30-1000000-broken.json").write_text("{", encoding="utf-8")

    t = row(report.targets(as_measured(HUNDRED_K), tmp_path), "1m_drilldown", "sqlite")
    assert (t["status"], t["measured"]) == ("PASS", "64.1 ms (from 2026-11-30-1000000-aa-newer.json)")


def test_a_labelled_run_is_written_under_its_label_and_re_renders_in_place(tmp_path, monkeypatch):
    import importlib.util
    import subprocess
    import sys

    monkeypatch.setattr(report, "chart", lambda results, path: path.write_bytes(b"\x89PNG\r\n\x1a\n"))
    results = as_measured(ONE_MILLION)
    results["meta"]["label"] = "fixed-pool"
    paths = report.write(results, tmp_path)
    assert [p.name for p in paths] == [f"2026-11-30-1000000-fixed-pool.{e}" for e in ("md", "json", "png")]
    assert "![chart](2026-11-30-1000000-fixed-pool.png)" in paths[0].read_text(encoding="utf-8")

    # `python -m bench.report FILE.json` renders next to FILE, under FILE's own name (renamed or not).
    renamed = tmp_path / "kept" / "renamed.json"
    renamed.parent.mkdir()
    renamed.write_text((RESULTS / f"{ONE_MILLION}.json").read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "bench.report", str(renamed)], cwd=RESULTS.parent.parent,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # The chart needs matplotlib (bench/requirements.txt, installed by `make bench`, not `make test`).
    drawn = importlib.util.find_spec("matplotlib") is not None
    assert sorted(p.name for p in renamed.parent.iterdir()) == ["renamed.json", "renamed.md"] + (
        ["renamed.png"] if drawn else [])
    assert (renamed.parent / "renamed.md").read_text(encoding="utf-8") == (
        RESULTS / f"{ONE_MILLION}.md").read_text(encoding="utf-8").replace(
        f"{ONE_MILLION}.png", "renamed.png" if drawn else "(chart failed)")


def test_a_label_must_be_a_file_name_piece():
    from bench.run import parse_args

    assert parse_args(["--label", "fixed-pool.2"]).label == "fixed-pool.2"
    for bad in ("../up", "a b", "-x", "a/b"):
        with pytest.raises(SystemExit):
            parse_args(["--label", bad])
