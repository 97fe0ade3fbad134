"""Reference data (regions, minerals, scale table) and the deterministic demo dataset."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

import pytest

from support import servers
from support import sqldb
from models.db import make_engine
from models.geo import inside_county as geo_inside_county
from models.enums import MineScale, RegionLevel
from seed.demo import DatasetMismatch, SeedReport, seed_demo, seed_reference
from seed.reference import (capacity_unit, derive_scale, load_json, load_scale_table,
                            mineral_rows, region_rows)

PASSWORD = "Demo-Passw0rd"
N_MINES = 3000


async def _seed(database: sqldb.Database, **kwargs) -> SeedReport:
    engine = make_engine(database.url)
    try:
        return await seed_demo(engine, password=PASSWORD, **kwargs)
    finally:
        await engine.dispose()


def _rows(database: sqldb.Database, sql: str, *args) -> list[tuple]:
    return database.rows(sql, *args)


@pytest.fixture(scope="module")
async def seeded(tmp_path_factory):
    with sqldb.fresh_database(tmp_path_factory.mktemp("seed")) as database:
        report = await _seed(database, mines=N_MINES, seed=7)
        yield database, report


# --------------------------------------------------------------------------- regions


@pytest.fixture(scope="module")
def regions() -> dict[str, dict]:
    return {r["code"]: r for r in region_rows()}


def test_region_levels_and_counts(regions):
    levels = Counter(r["level"] for r in regions.values())
    assert levels[RegionLevel.NATION.value] == 1
    assert levels[RegionLevel.PROVINCE.value] == 31
    assert 300 <= levels[RegionLevel.CITY.value] <= 340
    assert 2800 <= levels[RegionLevel.COUNTY.value] <= 2900
    assert all(re.fullmatch(r"\d{6}", code) for code in regions)


def test_known_regions(regions):
    assert regions["000000"]["name"] == "全国"
    assert regions["140000"]["parent_code"] == "000000"
    assert regions["140100"]["parent_code"] == "140000"
    xiaodian = regions["140105"]
    assert (xiaodian["level"], xiaodian["parent_code"]) == ("COUNTY", "140100")
    assert (xiaodian["province_code"], xiaodian["city_code"], xiaodian["county_code"]) == ("140000", "140100", "140105")
    for code, province in (("429004", "420000"), ("110101", "110000"), ("441900", "440000"),
                           ("460400", "460000"), ("620200", "620000"), ("469001", "460000"),
                           ("659001", "650000"), ("419001", "410000")):
        row = regions[code]
        assert (row["level"], row["parent_code"], row["city_code"]) == ("COUNTY", province, None), code
    assert regions["429004"]["name"] == "仙桃市"
    assert regions["520203"]["parent_code"] == "520200"  # 六枝特区 under 六盘水


def test_excluded_regions(regions):
    assert "500157" not in regions  # 两江新区: a functional zone
    assert not any(code[:2] in {"71", "81", "82"} for code in regions)
    assert not any("台湾" in r["name"] or "香港" in r["name"] or "澳门" in r["name"] for r in regions.values())


def test_region_ancestry_is_consistent(regions):
    for code, r in regions.items():
        if r["level"] == "NATION":
            assert r["parent_code"] is None
            continue
        parent = regions[r["parent_code"]]
        assert RegionLevel(parent["level"]).depth < RegionLevel(r["level"]).depth
        assert r["province_code"] == (code if r["level"] == "PROVINCE" else parent["province_code"])
        if r["level"] == "CITY":
            assert r["city_code"] == code
        if r["level"] == "COUNTY":
            assert r["county_code"] == code
            assert r["city_code"] == (parent["code"] if parent["level"] == "CITY" else None)
    codes = [r["code"] for r in region_rows()]
    assert codes == sorted(codes)


# --------------------------------------------------------------------------- minerals and scale


def test_mineral_tree():
    rows = mineral_rows()
    by_code = {m["code"]: m for m in rows}
    categories = sorted((m for m in rows if m["level"] == 1), key=lambda m: m["sort_order"])
    assert [m["name"] for m in categories] == ["有色金属", "黑色金属", "非金属", "其他"]
    assert [m["code"] for m in categories] == ["10", "20", "30", "40"]
    table = load_scale_table()
    parents = {m["parent_code"] for m in rows}
    for m in rows:
        assert len(m["code"]) == 2 * m["level"]
        if m["level"] > 1:
            parent = by_code[m["parent_code"]]
            assert parent["level"] == m["level"] - 1 and m["code"].startswith(parent["code"])
        if m["code"] in parents:
            assert m["scale_row"] is None
        else:  # every leaf sits at level 3 and names a real scale row
            assert m["level"] == 3 and m["scale_row"] in table
    leaves = [m["name"] for m in rows if m["level"] == 3]
    assert len(leaves) == len(set(leaves))
    iron = [m for m in rows if m["parent_code"] == "2001"]
    assert [m["name"] for m in iron] == ["铁矿"] and by_code["2001"]["name"] == "铁矿"
    assert {"金", "铅锌", "磷", "萤石", "铀", "石墨"} <= set(leaves)


def test_scale_table_rows():
    table = load_scale_table()
    assert {r.provenance for r in table.values()} <= {"as-published", "reconstructed", "recalled"}
    assert (table["gold"].large_min, table["gold"].medium_min) == (15, 6)
    assert capacity_unit("gold") == "万吨矿石/年"
    assert capacity_unit("graphite") == "万吨产品/年"


@pytest.mark.parametrize(("row", "capacity", "scale"), [
    ("gold", 15, MineScale.LARGE), ("gold", 14.99, MineScale.MEDIUM), ("gold", 6, MineScale.MEDIUM),
    ("gold", 5.99, MineScale.SMALL), ("gold", 0, MineScale.SMALL),
    ("graphite", 1, MineScale.LARGE), ("graphite", 0.3, MineScale.MEDIUM), ("graphite", 0.29, MineScale.SMALL),
    ("base_metals", 100, MineScale.LARGE), ("base_metals", 29.99, MineScale.SMALL),
])
def test_derive_scale_boundaries(row, capacity, scale):
    assert derive_scale(row, capacity) is scale


def test_derive_scale_rejects_unknown_row():
    with pytest.raises(ValueError):
        derive_scale("no-such-row", 1.0)


# --------------------------------------------------------------------------- demo dataset


async def test_demo_is_deterministic(new_database):
    a, b, c = (new_database(x) for x in "abc")
    await _seed(a, mines=300, seed=11)
    await _seed(b, mines=300, seed=11)
    await _seed(c, mines=300, seed=12)
    for sql in ("SELECT * FROM mine ORDER BY id", "SELECT * FROM guarantor ORDER BY mine_id, level",
                "SELECT id, username, tier, region_code, mine_id, guarantor_level FROM account ORDER BY id"):
        assert _rows(a, sql) == _rows(b, sql)
    assert _rows(a, "SELECT * FROM mine ORDER BY id") != _rows(c, "SELECT * FROM mine ORDER BY id")
    ids = [row[0] for row in _rows(a, "SELECT id FROM mine ORDER BY county_code, code")]
    assert ids == list(range(1, 301))


async def test_reseeding_changes_nothing_and_mismatch_is_an_error(seeded):
    database, first = seeded
    assert first.created and first.mines == N_MINES
    before = _rows(database, "SELECT COUNT(*), MAX(updated_at), SUM(version) FROM mine")
    again = await _seed(database, mines=N_MINES, seed=7)
    assert not again.created
    assert (again.mines, again.accounts, again.guarantors, again.located) == (
        first.mines, first.accounts, first.guarantors, first.located)
    assert _rows(database, "SELECT COUNT(*), MAX(updated_at), SUM(version) FROM mine") == before
    with pytest.raises(DatasetMismatch, match="--mines 3000"):
        await _seed(database, mines=N_MINES + 1, seed=7)
    start_over = "delete" if sqldb.SQLITE else "drop and re-create"  # how to start over, on this backend
    with pytest.raises(DatasetMismatch, match=start_over):
        await _seed(database, mines=N_MINES, seed=8)
    assert _rows(database, "SELECT key, value FROM dataset_info ORDER BY key") == [
        ("demo.mines", str(N_MINES)), ("demo.seed", "7")]


def test_account_counts_per_tier(seeded, regions):
    database, report = seeded
    levels = Counter(r["level"] for r in regions.values())
    tiers = dict(_rows(database, "SELECT tier, COUNT(*) FROM account GROUP BY tier"))
    assert tiers == {"NATIONAL": 10, "PROVINCE": 310, "CITY": 5 * levels["CITY"],
                     "COUNTY": 5 * levels["COUNTY"], "ENTERPRISE": N_MINES}
    assert report.accounts == sum(tiers.values())
    assert _rows(database, "SELECT username FROM account WHERE tier = 'NATIONAL' ORDER BY id")[0] == ("000000-001",)
    # The -001 account of each province/city/county fills that level's guarantors.
    fillers = _rows(database, "SELECT username, tier, guarantor_level FROM account "
                          "WHERE guarantor_level IS NOT NULL AND tier != 'ENTERPRISE'")
    assert len(fillers) == 31 + levels["CITY"] + levels["COUNTY"]
    assert all(u.endswith("-001") and t == g for u, t, g in fillers)
    assert _rows(database, "SELECT COUNT(*) FROM account a JOIN mine m ON m.id = a.mine_id "
                       "WHERE a.username = m.code AND a.region_code = m.county_code "
                       "AND a.guarantor_level = 'ENTERPRISE'") == [(N_MINES,)]
    assert len({h for (h,) in _rows(database, "SELECT DISTINCT password_hash FROM account")}) == 1


def test_distributions(seeded):
    database, _ = seeded
    share = lambda sql: _rows(database, f"SELECT AVG(CASE WHEN {sql} THEN 1.0 ELSE 0 END) FROM mine")[0][0]  # noqa: E731
    assert 0.71 <= share("scale = 'SMALL'") <= 0.79
    assert 0.17 <= share("scale = 'MEDIUM'") <= 0.23
    assert 0.03 <= share("scale = 'LARGE'") <= 0.07
    assert 0.015 <= share("max_depth > 800") <= 0.045
    assert 0.26 <= share("workers_per_shift > 30") <= 0.34
    assert 0.55 <= share("lat IS NOT NULL") <= 0.65
    assert 0.56 <= share("production_status = 'NORMAL'") <= 0.64
    assert 0.21 <= share("mineral_code = '100401'") <= 0.29  # gold
    assert 0.65 <= share("supervisory_body = 'COUNTY'") <= 0.76
    assert 0 < share("scale_override_note IS NOT NULL") <= 0.015
    heavy = _rows(database, "SELECT province_code FROM mine GROUP BY province_code ORDER BY COUNT(*) DESC LIMIT 7")
    assert {"530000", "430000", "520000"} <= {p for (p,) in heavy}


def test_mine_rows_are_consistent(seeded, regions):
    database, _ = seeded
    minerals = {m["code"]: m for m in mineral_rows()}  # the tree seed/ loads from minerals.json
    scale_rows = {code: m["scale_row"] for code, m in minerals.items()}
    geo = load_json("province_geo.json")["provinces"]
    phone = re.compile(r"1[3-9]\d{9}")
    mines = _rows(database, "SELECT code, province_code, city_code, county_code, mineral_code, "
                        "group_code, category_code, scale, "
                        "scale_override_note, design_capacity, capacity_unit, development_method, "
                        "development_detail, supervisory_body, principal_name, principal_phone, lat, lng, "
                        "source_datum, location_updated_at, updated_at, version, inside_county FROM mine")
    assert len(mines) == N_MINES
    inside_judged = 0
    for (code, province, city, county, mineral, group, category, scale, note, capacity, unit, method, detail,
         body, principal, principal_phone, lat, lng, datum, located_at, updated_at, version, inside) in mines:
        region = regions[county]
        assert region["level"] == "COUNTY"
        assert (province, city) == (region["province_code"], region["city_code"])
        # The copied mineral ancestry is what statistics group by: it must be the leaf's own.
        leaf = minerals[mineral]
        assert leaf["level"] == 3, (code, mineral)
        assert (group, category) == (leaf["parent_code"], minerals[leaf["parent_code"]]["parent_code"]), code
        assert "-" not in code and code.startswith("C" + county)
        row = scale_rows[mineral]
        assert unit == capacity_unit(row)
        assert (scale == derive_scale(row, capacity)) == (note is None)
        assert (method == "COMBINED") == (detail is not None)
        assert body != "CITY" or city is not None
        assert (body == "XPCC") == county.startswith("6590")
        assert (principal is None) == (principal_phone is None)
        assert principal_phone is None or phone.fullmatch(principal_phone)
        if lat is None:
            assert lng is None and datum is None and located_at is None
        else:
            assert datum in ("WGS84", "GCJ02") and located_at <= updated_at
            known = geo_inside_county(county, lat, lng, tolerance_km=0.01)
            if known is None:  # no boundary for the county: near its province, insideCounty unknown
                _, _, x0, y0, x1, y1 = geo[province]
                assert x0 <= lng <= x1 and y0 <= lat <= y1 and inside is None
            else:  # inside the county's own boundary, and the row says so
                assert known and inside, (code, lat, lng)
                inside_judged += 1
        assert datetime(2022, 1, 1) <= updated_at < datetime(2027, 1, 1) and version >= 1
    assert inside_judged > 0.5 * N_MINES


def test_guarantors(seeded):
    database, report = seeded
    assert report.guarantors == _rows(database, "SELECT COUNT(*) FROM guarantor")[0][0] > 0
    assert _rows(database, "SELECT COUNT(*) FROM guarantor g JOIN mine m ON m.id = g.mine_id "
                       "WHERE g.level = 'CITY' AND m.city_code IS NULL") == [(0,)]
    levels = {lv for (lv,) in _rows(database, "SELECT DISTINCT level FROM guarantor")}
    assert levels == {"PROVINCE", "CITY", "COUNTY", "ENTERPRISE"}
    # Each guarantor was entered by the account allowed to fill that level for that mine.
    assert _rows(database, """
        SELECT COUNT(*) FROM guarantor g JOIN mine m ON m.id = g.mine_id JOIN account a ON a.id = g.entered_by
        WHERE a.guarantor_level != g.level OR a.region_code != CASE g.level
            WHEN 'PROVINCE' THEN m.province_code WHEN 'CITY' THEN m.city_code ELSE m.county_code END
            OR (g.level = 'ENTERPRISE' AND a.mine_id != m.id)""") == [(0,)]
    # The dataset is an import: no mine was changed through the service yet, so each is at
    # version 1 with an empty history (the version counts the changes its history lists).
    assert _rows(database, "SELECT DISTINCT version FROM mine") == [(1,)]
    assert _rows(database, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'mine.%'") == [(0,)]
    assert _rows(database, "SELECT COUNT(*) FROM guarantor g JOIN mine m ON m.id = g.mine_id "
                       "WHERE g.updated_at > m.updated_at") == [(0,)]


def test_generated_columns_match_the_tables():
    from models import Account, Guarantor, Mine
    from seed.generate import ACCOUNT_COLUMNS, GUARANTOR_COLUMNS, MINE_COLUMNS

    for table, columns in ((Mine, MINE_COLUMNS), (Account, ACCOUNT_COLUMNS), (Guarantor, GUARANTOR_COLUMNS)):
        table_columns = {c.name: c for c in table.__table__.columns}
        assert set(columns) <= set(table_columns)
        # Whatever the generator leaves out must be a column that may stay empty
        # (e.g. an account's WeChat binding, made at its first login) or that the database fills
        # (a mine's verification state starts UNVERIFIED).
        for name in set(table_columns) - set(columns):
            assert table_columns[name].nullable or table_columns[name].server_default is not None, name


async def test_reference_only_then_foreign_data_blocks_the_demo(new_database):
    database = new_database()
    engine = make_engine(database.url)
    try:
        await seed_reference(engine)
        await seed_reference(engine)  # loads only into empty tables
        assert _rows(database, "SELECT COUNT(*) FROM region") == [(len(region_rows()),)]
        assert _rows(database, "SELECT COUNT(*) FROM mineral_type") == [(len(mineral_rows()),)]
        with database.connect() as conn:
            conn.execute("INSERT INTO account (username, password_hash, tier, created_at) "
                         "VALUES ('admin', 'x', 'NATIONAL', ?)", (datetime(2022, 1, 1),))
        with pytest.raises(DatasetMismatch, match="did not come from the demo seed"):
            await seed_demo(engine, mines=10, password=PASSWORD)
    finally:
        await engine.dispose()


def test_seed_if_empty_seeds_an_empty_database_and_leaves_any_other_alone(new_database):
    """`make run` (seed --demo --if-empty) on a database seeded with other options serves it as it is."""
    database = new_database()
    first = servers.cli(database, "seed", "--demo", "--mines", "200", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "loaded 200 mines" in first.stdout
    counted = "SELECT COUNT(*), SUM(version), MAX(updated_at) FROM mine"
    before = (_rows(database, counted), _rows(database, "SELECT key, value FROM dataset_info ORDER BY key"))
    again = servers.cli(database, "seed", "--demo", "--if-empty")  # the default 6,000 mines: another dataset
    assert again.returncode == 0, again.stderr
    assert "already holds 200 mines" in again.stdout and "not seeded" in again.stdout, again.stdout
    assert (_rows(database, counted), _rows(database, "SELECT key, value FROM dataset_info ORDER BY key")) == before
    plain = servers.cli(database, "seed", "--demo")  # without the flag the mismatch stays an error
    assert plain.returncode == 2 and "--mines 200" in plain.stderr, plain.stderr
