"""Mine list: filters, keyset paging, cursors, detail fields."""

from __future__ import annotations

import pytest

from support.queries import MINE_DETAIL, MINES, OPTIONS
from support.reference import matches


async def _pages(gql, token, variables, first=50):
    codes, after = [], None
    while True:
        result = await gql(MINES, {**variables, "first": first, "after": after}, token)
        assert result.errors is None, result.errors
        connection = result.data["mines"]
        codes += [(e["node"]["region"]["code"], e["node"]["code"]) for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return codes, connection["totalCount"]
        after = connection["pageInfo"]["endCursor"]


SPECS = [
    {"nameContains": "铜"},
    {"mineralCodes": ["20"], "scales": ["SMALL"]},
    {"workersPerShiftMin": 31, "productionStatuses": ["NORMAL"]},
    {"depthMin": 500, "depthMax": 500.0001, "over800mDepth": False},
    {"mineralCodes": []},
    {"supervisoryBodies": ["PROVINCE", "CITY"], "designCapacityMax": 10},
]


@pytest.mark.parametrize("spec", SPECS, ids=str)
async def test_filters_match_the_reference_in_order(gql, callers, mines, levels, spec):
    codes, total = await _pages(gql, callers["NATIONAL"].token, {"filter": spec})
    expected = sorted((m["county_code"], m["code"]) for m in mines if matches(m, spec, levels))
    assert codes == expected
    assert total == len(expected)


async def test_keyset_cursors_are_stable_under_inserts(gql, callers, db, settings):
    token = callers["NATIONAL"].token
    first = await gql(MINES, {"first": 10}, token)
    after = first.data["mines"]["pageInfo"]["endCursor"]
    before_insert = await gql(MINES, {"first": 10, "after": after}, token)
    # A mine inserted before the cursor position must not shift the next page.
    row = dict(db.execute("SELECT * FROM mine ORDER BY county_code, code LIMIT 1").fetchone())
    row["code"] = "A" + row["code"]  # sorts before every demo code of that county
    columns = [k for k in row if k != "id"]
    db.execute(f"INSERT INTO mine ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", [row[c] for c in columns])
    db.commit()
    try:
        after_insert = await gql(MINES, {"first": 10, "after": after}, token)
        assert after_insert.data["mines"]["edges"] == before_insert.data["mines"]["edges"]
        assert after_insert.data["mines"]["totalCount"] == before_insert.data["mines"]["totalCount"] + 1
    finally:
        db.execute("DELETE FROM mine WHERE code = ?", (row["code"],))
        db.commit()


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"first": -1}, "first must be between 0 and 100"),
        ({"first": 101}, "first must be between 0 and 100"),
        ({"after": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"after": "!!!"}, "cursor"),
        ({"filter": {"depthMin": 900, "depthMax": 100}}, "depthMin (900.0) is greater than depthMax (100.0)"),
        ({"filter": {"workersPerShiftMin": 50, "workersPerShiftMax": 10}}, "workersPerShiftMin"),
        ({"filter": {"mineralCodes": ["10", "nope"]}}, "unknown mineral code(s): 'nope'"),
        ({"filter": {"nameContains": "x" * 101}}, "nameContains"),
    ],
)
async def test_bad_input_is_bad_user_input(gql, callers, variables, fragment):
    result = await gql(MINES, variables, callers["NATIONAL"].token)
    assert result.codes == ["BAD_USER_INPUT"]
    assert fragment in result.errors[0]["message"]
    assert result.data is None


async def test_first_zero_counts_without_rows(gql, callers):
    result = await gql(MINES, {"first": 0}, callers["NATIONAL"].token)
    connection = result.data["mines"]
    assert connection["edges"] == [] and connection["totalCount"] > 0
    assert connection["pageInfo"]["hasNextPage"] is True


async def test_mine_detail_has_every_field(gql, callers, db):
    mine_id = db.execute(
        "SELECT m.id FROM mine m JOIN guarantor g ON g.mine_id = m.id "
        "WHERE m.lat IS NOT NULL AND m.principal_name IS NOT NULL ORDER BY m.id LIMIT 1"
    ).fetchone()[0]
    result = await gql(MINE_DETAIL, {"id": str(mine_id)}, callers["NATIONAL"].token)
    assert result.errors is None, result.errors
    mine = result.data["mine"]
    row = db.execute("SELECT * FROM mine WHERE id = ?", (mine_id,)).fetchone()
    assert mine["code"] == row["code"] and mine["region"]["code"] == row["county_code"]
    assert mine["region"]["level"] == "COUNTY"
    assert mine["mineral"]["level"] == 3 and mine["mineral"]["code"] == row["mineral_code"]
    assert mine["mineral"]["parent"]["parent"]["code"] == row["category_code"]
    assert mine["location"]["wgs84"] == {"lat": row["lat"], "lng": row["lng"]}
    # GCJ-02 is offset from WGS-84 by hundreds of metres inside China.
    assert 0.0005 < abs(mine["location"]["gcj02"]["lng"] - row["lng"]) < 0.01
    assert mine["principal"]["phone"] == row["principal_phone"]
    assert mine["guarantors"] and mine["version"] >= 1
    assert mine["updatedAt"].endswith("+08:00")


async def test_options_give_chinese_labels(gql, callers):
    result = await gql(OPTIONS, token=callers["COUNTY"].token)
    options = result.data["options"]
    assert {"value": "LARGE", "label": "大型"} in options["scales"]
    assert {"value": "CLOSED", "label": "关闭/闭坑"} in options["productionStatuses"]
    assert {"value": "ADIT", "label": "平硐"} in options["developmentMethods"]
    assert [o["value"] for o in options["supervisoryBodies"]] == ["PROVINCE", "CITY", "COUNTY", "XPCC"]
