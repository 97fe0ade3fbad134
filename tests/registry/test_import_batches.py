"""Applying an import in batches (resolvers/imports.py `_apply`): the records and versions are those
of one write per row — one version step per changed mine, one audit record per changed field, in
the order of a single mine's write (basic fields, location, guarantor) — and a mine that moved on
after planning still undoes the whole import."""

from __future__ import annotations

import pytest

from resolvers import imports
from support.sheet_files import BASIC, mine_cells, xlsx_bytes
from support.import_requests import send, version

LOCATED = ("经度", "纬度", "坐标系")
COUNTY_GUARANTOR = ("县级包保责任人姓名", "县级包保责任人职务", "县级包保责任人电话")
HEADER = BASIC + LOCATED + COUNTY_GUARANTOR


@pytest.fixture(scope="module")
def located(fresh_env):
    """Three located mines of one county."""
    db = fresh_env.db
    county = db.execute("SELECT county_code FROM mine WHERE lat IS NOT NULL GROUP BY county_code "
                        "HAVING count(*) >= 5 ORDER BY county_code LIMIT 1").fetchone()[0]
    rows = db.execute("SELECT id, lat, lng FROM mine WHERE county_code = ? AND lat IS NOT NULL ORDER BY code",
                      (county,)).fetchall()
    return county, [tuple(r) for r in rows]


def _audits(db, mine_id: int, import_id: str) -> list[tuple]:
    return [tuple(r) for r in db.execute(
        "SELECT action, field, mine_version FROM audit_log WHERE mine_id = ? AND import_id = ? ORDER BY id",
        (mine_id, int(import_id)))]


async def test_each_row_is_one_version_step_and_its_fields_audited_in_order(fresh_env, located):
    db, (county, mines) = fresh_env.db, located
    (a, lat, lng), (b, _, _), (c, _, _) = mines[:3]
    rows = [mine_cells(db, m) for m in (a, b, c)]
    rows[0]["最大开采深度(米)"] += 10
    rows[0]["单班下井作业人数"] += 1
    rows[0].update({"经度": round(lng + 0.001, 6), "纬度": round(lat, 6), "坐标系": "WGS-84",
                    "县级包保责任人姓名": "赵批量", "县级包保责任人职务": "副县长", "县级包保责任人电话": "13912345678"})
    rows[1]["单班下井作业人数"] += 1
    before = {m: version(db, m) for m in (a, b, c)}
    body = await send(fresh_env, f"{county}-001", xlsx_bytes(rows, header=HEADER), apply=True)
    report = body["data"]["importMines"]
    assert (report["applied"], report["changed"], report["unchanged"], report["rejected"]) == (True, 2, 1, 0)
    assert {m: version(db, m) - before[m] for m in (a, b, c)} == {a: 1, b: 1, c: 0}
    stepped = before[a] + 1
    assert _audits(db, a, report["id"]) == [
        ("mine.update", "maxDepth", stepped), ("mine.update", "workersPerShift", stepped),
        ("mine.location", "location", stepped), ("mine.guarantor", "guarantor.COUNTY", stepped)]
    assert _audits(db, b, report["id"]) == [("mine.update", "workersPerShift", before[b] + 1)]
    assert _audits(db, c, report["id"]) == []


async def test_a_mine_changed_between_plan_and_apply_undoes_every_row(fresh_env, located, monkeypatch):
    db, (county, mines) = fresh_env.db, located
    (a, _, _), (b, _, _) = mines[3:5]
    rows = [mine_cells(db, m) for m in (a, b)]
    for row in rows:
        row["单班下井作业人数"] += 1
    planned = imports._reject_repeated_codes

    def then_someone_writes(plans, header):  # after planning, before applying
        planned(plans, header)
        db.execute("UPDATE mine SET version = version + 1 WHERE id = ?", (b,))
        db.commit()

    monkeypatch.setattr(imports, "_reject_repeated_codes", then_someone_writes)
    before = {m: version(db, m) for m in (a, b)}
    body = await send(fresh_env, f"{county}-001", xlsx_bytes(rows, header=HEADER), apply=True)
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert {m: version(db, m) for m in (a, b)} == {a: before[a], b: before[b] + 1}  # a's step rolled back
