"""The mine tally (models/tally.py): kept equal to a recount of the mines by the
database's own triggers, whoever writes, and the statistics read from it or from
the mines alike."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
import pytest

from web.app import create_app
from settings import Settings
from support.environment import PASSWORD, build_env
from support.queries import LOGIN
from support.reference import as_comparable, expected_stats, matches

_SUMS = """MIN(province_code), MIN(city_code), COUNT(*),
       SUM(CASE WHEN scale = 'LARGE' THEN 1 ELSE 0 END), SUM(CASE WHEN scale = 'MEDIUM' THEN 1 ELSE 0 END),
       SUM(CASE WHEN scale = 'SMALL' THEN 1 ELSE 0 END), SUM(CASE WHEN workers_per_shift > 30 THEN 1 ELSE 0 END),
       SUM(CASE WHEN max_depth > 800 THEN 1 ELSE 0 END)"""
# Per status, and over all statuses under '*'.
RECOUNT = f"""
SELECT production_status, county_code, category_code, {_SUMS} FROM mine
GROUP BY production_status, county_code, category_code
UNION ALL
SELECT '*', county_code, category_code, {_SUMS} FROM mine GROUP BY county_code, category_code"""
TALLY = """SELECT production_status, county_code, category_code, province_code, city_code,
                  n, n_large, n_medium, n_small, n_over_workers, n_over_depth FROM mine_tally"""

DRILL = """query Drill($filter: MineFilter) {
  region { stats(filter: $filter) { ...S byCategory { mineral { code } count } }
    children { code stats(filter: $filter) { ...S byCategory { mineral { code } count } } } }
}
fragment S on MineStats { total large medium small over30Workers over800mDepth }"""


def tally_is_recount(db) -> None:
    tally = {tuple(row[:3]): tuple(row[3:]) for row in db.execute(TALLY)}
    # A key whose last mine left keeps a row of zeros; nothing else may differ.
    emptied = {key for key, sums in tally.items() if sums[2] == 0}
    assert all(not any(tally[key][2:]) for key in emptied), "a row counting no mine holds other counts"
    live = {key: sums for key, sums in tally.items() if key not in emptied}
    assert live == {tuple(row[:3]): tuple(row[3:]) for row in db.execute(RECOUNT)}


@pytest.fixture(scope="module")
async def tallied(tmp_path_factory):
    async with AsyncExitStack() as stack:
        yield await build_env(stack, tmp_path_factory.mktemp("tally"), mines=800, seed=5)


async def national_drill(env, variables=None, client=None) -> dict:
    client = client or env.client
    login = await client.post("/graphql", json={"query": LOGIN, "variables": {"u": "000000-001", "p": PASSWORD}})
    token = login.json()["data"]["login"]["token"]
    answer = await client.post("/graphql", json={"query": DRILL, "variables": variables or {}},
                               headers={"authorization": f"Bearer {token}"})
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]["region"]


def assert_drill_is_recount(db, region: dict, spec: dict | None, workers: int = 30) -> None:
    mines = [dict(row) for row in db.execute("SELECT * FROM mine")]
    levels = {r["code"]: r["level"] for r in db.execute("SELECT code, level FROM region")}
    picked = [m for m in mines if matches(m, spec, levels)]
    expected = expected_stats(picked)
    expected["over30Workers"] = sum(m["workers_per_shift"] > workers for m in picked)
    assert as_comparable(region["stats"]) == expected
    for child in region["children"]:
        inside = [m for m in picked if m["province_code"] == child["code"]]
        want = expected_stats(inside)
        want["over30Workers"] = sum(m["workers_per_shift"] > workers for m in inside)
        assert as_comparable(child["stats"]) == want, child["code"]


async def test_the_seeded_tally_is_a_recount(tallied):
    tally_is_recount(tallied.db)


def _operator_writes(db) -> None:
    """Changes made straight in SQL, as an operator or a future mutation would."""
    ids = [row[0] for row in db.execute("SELECT id FROM mine ORDER BY id")]
    other = db.execute("SELECT province_code, city_code, county_code, mineral_code, group_code, category_code "
                       "FROM mine WHERE id = ?", (ids[-1],)).fetchone()
    db.execute(f"UPDATE mine SET production_status = 'CLOSED' WHERE id IN ({', '.join(map(str, ids[:25]))})")
    db.execute("UPDATE mine SET scale = 'LARGE', workers_per_shift = 31, max_depth = 800.5 WHERE id = ?", (ids[30],))
    db.execute("UPDATE mine SET workers_per_shift = 30, max_depth = 800 WHERE id = ?", (ids[31],))
    db.execute("UPDATE mine SET province_code = ?, city_code = ?, county_code = ? WHERE id = ?",
               (other["province_code"], other["city_code"], other["county_code"], ids[32]))
    db.execute("UPDATE mine SET mineral_code = ?, group_code = ?, category_code = ? WHERE id = ?",
               (other["mineral_code"], other["group_code"], other["category_code"], ids[33]))
    db.execute("UPDATE mine SET name = name || ' (更名)', lat = NULL WHERE id = ?", (ids[34],))  # counts nothing
    row = dict(db.execute("SELECT * FROM mine WHERE id = ?", (ids[40],)).fetchone())
    for code in ("T-TALLY-1", "T-TALLY-2"):
        columns = [c for c in row if c != "id"]
        values = [code if c == "code" else row[c] for c in columns]
        db.execute(f"INSERT INTO mine ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values)
    db.execute("DELETE FROM mine WHERE code = 'T-TALLY-1'")
    db.commit()


async def test_writes_in_sql_keep_the_tally_and_the_statistics_right(tallied):
    db = tallied.db
    _operator_writes(db)
    tally_is_recount(db)
    # Answered from the tally (no filter; categories and statuses) and from the mines (scales).
    category = db.execute("SELECT category_code FROM mine GROUP BY category_code ORDER BY COUNT(*) DESC").fetchone()[0]
    for spec in (None, {"productionStatuses": ["CLOSED", "NORMAL"], "mineralCodes": [category]}, {"scales": ["LARGE"]}):
        assert_drill_is_recount(db, await national_drill(tallied, {"filter": spec}), spec)


async def test_a_rolled_back_write_leaves_the_tally_as_it_was(tallied):
    db = tallied.db
    before = db.execute(TALLY).fetchall()
    db.execute("BEGIN")
    db.execute("UPDATE mine SET production_status = 'TRIAL', scale = 'SMALL'")
    db.execute("DELETE FROM mine WHERE code = 'T-TALLY-2'")
    db.execute("ROLLBACK")
    assert sorted(db.execute(TALLY).fetchall()) == sorted(before)
    tally_is_recount(db)


async def test_other_thresholds_count_the_mines_themselves(tallied):
    """The tally counts at 30 workers and 800 m; a service set to 10 workers must not use it."""
    settings = Settings(database_url=tallied.settings.database_url, secret_key="test-secret", workers_threshold=10, depth_threshold_m=800)
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://minegraph.test"
    ) as client:
        region = await national_drill(tallied, client=client)
    assert_drill_is_recount(tallied.db, region, None, workers=10)
    assert region["stats"]["over30Workers"] != (await national_drill(tallied))["stats"]["over30Workers"]


async def test_an_update_that_moves_no_count_leaves_the_tally_alone(tallied):
    """The update trigger's WHEN (models/tally.py, `_moves`): a workforce changed on the same side of
    the threshold runs no upsert (the marked tally row keeps its mark); one that crosses it does."""
    db = tallied.db
    mine_id, *key = db.execute("SELECT id, production_status, county_code, category_code FROM mine "
                               "WHERE workers_per_shift < 29 AND revoked_at IS NULL ORDER BY id LIMIT 1").fetchone()
    where = "WHERE production_status = ? AND county_code = ? AND category_code = ?"
    db.execute(f"UPDATE mine_tally SET city_code = 'MARK' {where}", key)
    db.execute("UPDATE mine SET workers_per_shift = workers_per_shift + 1, name = name WHERE id = ?", (mine_id,))
    db.commit()
    assert db.execute(f"SELECT city_code FROM mine_tally {where}", key).fetchone()[0] == "MARK"
    db.execute("UPDATE mine SET workers_per_shift = 31 WHERE id = ?", (mine_id,))
    db.commit()
    assert db.execute(f"SELECT city_code FROM mine_tally {where}", key).fetchone()[0] != "MARK"
    tally_is_recount(db)
