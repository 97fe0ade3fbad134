"""Guarantors and locations: who may write, validation, versions, audit, history."""

from __future__ import annotations

import pytest

from support.queries import HISTORY, MINE_DETAIL, SET_GUARANTOR, SUGGESTIONS, UPDATE_LOCATION

LEVELS = ["PROVINCE", "CITY", "COUNTY", "ENTERPRISE"]
PERSON = {"name": "李建国", "position": "副县长", "phone": "13912345678"}


@pytest.fixture(scope="module")
def cast(fresh_env):
    """Accounts around one mine: the role holders, their colleagues, and outsiders."""
    db = fresh_env.db
    mine = db.execute(
        "SELECT * FROM mine WHERE city_code IS NOT NULL AND county_code IN "
        "(SELECT county_code FROM mine GROUP BY county_code HAVING count(*) > 1) ORDER BY id LIMIT 1"
    ).fetchone()
    sibling = db.execute(
        "SELECT code FROM mine WHERE county_code = ? AND id != ? ORDER BY id LIMIT 1", (mine["county_code"], mine["id"])
    ).fetchone()
    other_county = db.execute(
        "SELECT code FROM region WHERE parent_code = ? AND code != ? ORDER BY code LIMIT 1",
        (mine["city_code"], mine["county_code"]),
    ).fetchone()
    other_province = db.execute(
        "SELECT code FROM region WHERE level = 'PROVINCE' AND code != ? ORDER BY code LIMIT 1", (mine["province_code"],)
    ).fetchone()
    p, c, k = mine["province_code"], mine["city_code"], mine["county_code"]
    return {
        "mine": dict(mine),
        # username -> {level it may set, or None}; None as a whole = cannot see the mine
        "sees": {
            "000000-001": set(), f"{p}-001": {"PROVINCE"}, f"{p}-002": set(), f"{c}-001": {"CITY"},
            f"{c}-005": set(), f"{k}-001": {"COUNTY"}, f"{k}-003": set(), mine["code"]: {"ENTERPRISE", "location"},
        },
        "blind": [sibling["code"], f"{other_county['code']}-001", f"{other_province['code']}-001"],
    }


def _audited(db, mine_id) -> int:
    return db.execute(
        "SELECT count(*) FROM audit_log WHERE mine_id = ? AND action LIKE 'mine.%'", (mine_id,)
    ).fetchone()[0]


def _version(db, mine_id) -> int:
    return db.execute("SELECT version FROM mine WHERE id = ?", (mine_id,)).fetchone()[0]


@pytest.mark.parametrize("level", LEVELS)
async def test_set_guarantor_matrix(fresh_env, cast, level):
    mine_id = cast["mine"]["id"]
    for username, rights in cast["sees"].items():
        token = await fresh_env.token(username)
        before = _version(fresh_env.db, mine_id)
        person = {**PERSON, "name": f"测试{username[-3:]}"}
        result = await fresh_env.gql(SET_GUARANTOR, {"id": str(mine_id), "level": level, "input": person}, token)
        if level in rights:
            assert result.errors is None, (username, result.errors)
            mine = result.data["setGuarantor"]
            assert mine["version"] == before + 1
            assert {"level": level, **person} in [{k: g[k] for k in ("level", "name", "position", "phone")}
                                                    for g in mine["guarantors"]]
        else:
            assert result.codes == ["FORBIDDEN"], (username, level, result.errors)
            assert _version(fresh_env.db, mine_id) == before
    for username in cast["blind"]:
        result = await fresh_env.gql(
            SET_GUARANTOR, {"id": str(mine_id), "level": level, "input": PERSON}, await fresh_env.token(username)
        )
        assert result.codes == ["NOT_FOUND"], username


async def test_update_location_matrix(fresh_env, cast):
    mine = cast["mine"]
    point = {"id": str(mine["id"]), "lat": 30.5, "lng": 104.1, "datum": "WGS84"}
    for username, rights in cast["sees"].items():
        result = await fresh_env.gql(UPDATE_LOCATION, point, await fresh_env.token(username))
        if "location" in rights:
            assert result.errors is None, result.errors
        else:
            assert result.codes == ["FORBIDDEN"], username
    for username in cast["blind"]:
        result = await fresh_env.gql(UPDATE_LOCATION, point, await fresh_env.token(username))
        assert result.codes == ["NOT_FOUND"], username


async def test_gcj02_input_is_stored_as_wgs84_and_served_in_both(fresh_env, cast):
    mine = cast["mine"]
    token = await fresh_env.token(mine["code"])
    result = await fresh_env.gql(
        UPDATE_LOCATION, {"id": str(mine["id"]), "lat": 39.9087, "lng": 116.3975, "datum": "GCJ02"}, token
    )
    location = result.data["updateMineLocation"]["location"]
    assert location["sourceDatum"] == "GCJ02"
    assert location["gcj02"]["lat"] == pytest.approx(39.9087, abs=1e-6)
    assert location["gcj02"]["lng"] == pytest.approx(116.3975, abs=1e-6)
    # WGS-84 lies a few hundred metres away from GCJ-02 in Beijing.
    assert 0.001 < abs(location["wgs84"]["lng"] - 116.3975) < 0.01
    row = fresh_env.db.execute("SELECT lat, lng, source_datum FROM mine WHERE id = ?", (mine["id"],)).fetchone()
    assert (row["lat"], row["lng"], row["source_datum"]) == (
        location["wgs84"]["lat"], location["wgs84"]["lng"], "GCJ02"
    )


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"lat": 35.68, "lng": 139.69}, "outside China"),
        ({"lat": 104.1, "lng": 30.5}, "lat"),
        ({"lat": 95.0, "lng": 100.0}, "lat"),
    ],
)
async def test_bad_locations_are_refused_and_change_nothing(fresh_env, cast, variables, fragment):
    mine = cast["mine"]
    before = _version(fresh_env.db, mine["id"])
    result = await fresh_env.gql(
        UPDATE_LOCATION, {"id": str(mine["id"]), "datum": "WGS84", **variables}, await fresh_env.token(mine["code"])
    )
    assert result.codes == ["BAD_USER_INPUT"]
    assert fragment in result.message
    assert _version(fresh_env.db, mine["id"]) == before


@pytest.mark.parametrize(
    ("person", "fragment"),
    [
        ({"phone": "12345"}, "mobile number"),
        ({"name": "   "}, "name"),
        ({"name": "张\x00三"}, "nul"),  # refused for the whole request
        ({"position": "x" * 200}, "position"),
    ],
)
async def test_bad_guarantors_are_refused_and_change_nothing(fresh_env, cast, person, fragment):
    mine = cast["mine"]
    before = _version(fresh_env.db, mine["id"])
    result = await fresh_env.gql(
        SET_GUARANTOR, {"id": str(mine["id"]), "level": "ENTERPRISE", "input": {**PERSON, **person}},
        await fresh_env.token(mine["code"]),
    )
    assert result.codes == ["BAD_USER_INPUT"], result.errors
    assert fragment in result.message.lower()
    assert _version(fresh_env.db, mine["id"]) == before


async def test_city_level_does_not_exist_under_a_province_directly(fresh_env):
    db = fresh_env.db
    mine = db.execute("SELECT id, province_code FROM mine WHERE city_code IS NULL ORDER BY id LIMIT 1").fetchone()
    result = await fresh_env.gql(
        SET_GUARANTOR, {"id": str(mine["id"]), "level": "CITY", "input": PERSON},
        await fresh_env.token(f"{mine['province_code']}-001"),
    )
    assert result.codes == ["BAD_USER_INPUT"] and "CITY" in result.message


async def test_stale_expected_version_is_a_conflict_and_changes_nothing(fresh_env, cast):
    mine = cast["mine"]
    token = await fresh_env.token(mine["code"])
    # One write first, so that there is an earlier version to be stale about.
    first = await fresh_env.gql(SET_GUARANTOR, {"id": str(mine["id"]), "level": "ENTERPRISE", "input": PERSON}, token)
    assert first.errors is None, first.errors
    current = _version(fresh_env.db, mine["id"])
    stale = await fresh_env.gql(
        SET_GUARANTOR, {"id": str(mine["id"]), "level": "ENTERPRISE", "input": PERSON, "v": current - 1}, token
    )
    assert stale.codes == ["CONFLICT"] and f"version {current}" in stale.message
    assert _version(fresh_env.db, mine["id"]) == current
    fresh = await fresh_env.gql(
        SET_GUARANTOR, {"id": str(mine["id"]), "level": "ENTERPRISE", "input": PERSON, "v": current}, token
    )
    assert fresh.errors is None and fresh.data["setGuarantor"]["version"] == current + 1


async def test_every_change_is_audited_and_shown_in_history(fresh_env, cast):
    mine = cast["mine"]
    county_clerk = await fresh_env.token(f"{mine['county_code']}-001")
    audited_before = _audited(fresh_env.db, mine["id"])
    version_before = _version(fresh_env.db, mine["id"])
    first = {**PERSON, "name": "王一"}
    second = {**PERSON, "name": "王二", "phone": "0871-65123456"}
    for person in (first, second):
        result = await fresh_env.gql(
            SET_GUARANTOR, {"id": str(mine["id"]), "level": "COUNTY", "input": person}, county_clerk
        )
        assert result.errors is None, result.errors
    # Anyone who sees the mine sees its history; the newest change comes first.
    result = await fresh_env.gql(HISTORY, {"id": str(mine["id"])}, await fresh_env.token("000000-001"))
    history = result.data["mine"]["history"]
    latest = history[0]
    assert latest["field"] == "guarantor.COUNTY" and latest["username"] == f"{mine['county_code']}-001"
    assert latest["oldValue"] == first and latest["newValue"]["name"] == "王二"
    assert latest["newValue"]["phone"] == "0871-65123456"
    # One audit record per change, written with it: as many as the version rose.
    assert _audited(fresh_env.db, mine["id"]) - audited_before == 2
    assert _version(fresh_env.db, mine["id"]) - version_before == 2
    assert len(history) == _audited(fresh_env.db, mine["id"])
    blind = await fresh_env.gql(HISTORY, {"id": str(mine["id"])}, await fresh_env.token(cast["blind"][0]))
    assert blind.codes == ["NOT_FOUND"]


async def test_quick_fill_suggests_this_accounts_earlier_entries(fresh_env, cast):
    mine = cast["mine"]
    username = f"{mine['city_code']}-001"
    token = await fresh_env.token(username)
    others = fresh_env.db.execute(
        "SELECT id FROM mine WHERE city_code = ? ORDER BY id LIMIT 3", (mine["city_code"],)
    ).fetchall()
    people = [{**PERSON, "name": "赵甲"}, {**PERSON, "name": "钱乙"}, {**PERSON, "name": "赵甲"}]
    for row, person in zip(others, people, strict=False):
        result = await fresh_env.gql(SET_GUARANTOR, {"id": str(row["id"]), "level": "CITY", "input": person}, token)
        assert result.errors is None, result.errors
    assert len(others) == 3
    result = await fresh_env.gql(SUGGESTIONS, {"level": "CITY"}, token)
    suggested = result.data["guarantorSuggestions"]
    # Most recent first, each person once (赵甲 was entered twice).
    assert [s["name"] for s in suggested][:2] == ["赵甲", "钱乙"]
    assert len(suggested) == len({(s["name"], s["position"], s["phone"]) for s in suggested})
    refused = await fresh_env.gql(SUGGESTIONS, {"level": "COUNTY"}, token)
    assert refused.codes == ["FORBIDDEN"]
    colleague = await fresh_env.gql(SUGGESTIONS, {"level": "CITY"}, await fresh_env.token(f"{mine['city_code']}-002"))
    assert colleague.codes == ["FORBIDDEN"]


async def test_detail_shows_the_written_guarantors(fresh_env, cast):
    mine = cast["mine"]
    result = await fresh_env.gql(MINE_DETAIL, {"id": str(mine["id"])}, await fresh_env.token("000000-001"))
    levels = [g["level"] for g in result.data["mine"]["guarantors"]]
    assert levels == sorted(set(levels), key=LEVELS.index) and set(levels) == set(LEVELS)


async def test_dashboard_update_time_follows_changes_in_scope_only(fresh_env, cast):
    from support.queries import DASHBOARD

    mine = cast["mine"]
    outsider = await fresh_env.token(cast["blind"][2])  # another province
    before_outside = (await fresh_env.gql(DASHBOARD, token=outsider)).data["dashboard"]["updatedAt"]
    result = await fresh_env.gql(
        SET_GUARANTOR, {"id": str(mine["id"]), "level": "ENTERPRISE", "input": {**PERSON, "name": "时间"}},
        await fresh_env.token(mine["code"]),
    )
    written_at = result.data["setGuarantor"]["updatedAt"]
    for username in (f"{mine['county_code']}-003", f"{mine['province_code']}-002", "000000-001"):
        dashboard = (await fresh_env.gql(DASHBOARD, token=await fresh_env.token(username))).data["dashboard"]
        assert dashboard["updatedAt"] == written_at, username
    assert (await fresh_env.gql(DASHBOARD, token=outsider)).data["dashboard"]["updatedAt"] == before_outside
