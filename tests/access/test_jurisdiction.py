"""Every tier × every entry point: nothing outside the caller's scope is returned or counted."""

from __future__ import annotations

import pytest
from strawberry.permission import PermissionExtension

from support.queries import (
    DASHBOARD, MINE_DETAIL, MINERAL_STATS, MINES, MINES_NEAR, ME, OPTIONS, REGION_MINES, REGION_STATS, SUGGESTIONS,
)
from support.reference import visible
from schema.build import build_schema
from settings import Settings
from auth.permissions import IsAuthenticated

schema = build_schema(Settings())  # the development schema
TIERS = ["NATIONAL", "PROVINCE", "CITY", "COUNTY", "ENTERPRISE"]


def _visible_ids(mines, caller) -> set[int]:
    return {m["id"] for m in mines if visible(m, caller)}


def _outside_regions(db, caller) -> list[str]:
    """Regions the caller must not see: siblings and cousins at every level, and the nation."""
    if caller.tier == "NATIONAL":
        return []
    row = db.execute("SELECT * FROM region WHERE code = ?", (caller.region_code,)).fetchone()
    candidates = ["000000"]
    for column in ("province_code", "city_code", "county_code"):
        other = db.execute(
            f"SELECT code FROM region WHERE {column} IS NOT NULL AND {column} != ? AND code = {column} "
            "AND code IN (SELECT county_code FROM mine UNION SELECT city_code FROM mine "
            "UNION SELECT province_code FROM mine) ORDER BY code LIMIT 1",
            (row[column] or "",),
        ).fetchone()
        if other and other[0] != caller.region_code:
            candidates.append(other[0])
    if caller.tier == "ENTERPRISE":
        return candidates  # its own county is visible, but no other
    return [c for c in candidates if not _contains(db, caller.region_code, c)]


def _contains(db, outer: str, inner: str) -> bool:
    row = db.execute("SELECT province_code, city_code, county_code FROM region WHERE code = ?", (inner,)).fetchone()
    return outer in tuple(row)


async def _all_pages(gql, token, variables) -> list[dict]:
    edges, after = [], None
    while True:
        result = await gql(MINES, {**variables, "first": 100, "after": after}, token)
        assert result.errors is None, result.errors
        page = result.data["mines"]
        edges += page["edges"]
        if not page["pageInfo"]["hasNextPage"]:
            return edges
        after = page["pageInfo"]["endCursor"]


@pytest.mark.parametrize("tier", TIERS)
async def test_dashboard_counts_only_the_jurisdiction(gql, callers, mines, tier):
    caller = callers[tier]
    result = await gql(DASHBOARD, token=caller.token)
    dashboard = result.data["dashboard"]
    assert dashboard["stats"]["total"] == len(_visible_ids(mines, caller)) > 0
    assert dashboard["region"]["code"] == caller.region_code
    if tier == "ENTERPRISE":
        assert dashboard["stats"]["total"] == 1


@pytest.mark.parametrize("tier", TIERS)
async def test_mine_list_returns_exactly_the_jurisdiction(gql, callers, mines, tier):
    caller = callers[tier]
    edges = await _all_pages(gql, caller.token, {})
    assert {int(e["node"]["id"]) for e in edges} == _visible_ids(mines, caller)
    totals = await gql(MINES, {"first": 0}, caller.token)
    assert totals.data["mines"]["totalCount"] == len(edges)


@pytest.mark.parametrize("tier", TIERS)
async def test_root_region_children_and_stats_stay_inside(gql, callers, mines, tier):
    caller = callers[tier]
    result = await gql(REGION_STATS, {"code": None}, caller.token)
    region = result.data["region"]
    assert region["code"] == caller.region_code
    assert region["parent"] is None
    assert region["stats"]["total"] == len(_visible_ids(mines, caller))
    if tier in ("ENTERPRISE", "COUNTY"):
        assert region["children"] == []  # counties are leaves; an enterprise sees no neighbours
    else:
        assert region["children"]
        assert sum(c["stats"]["total"] for c in region["children"]) == region["stats"]["total"]


@pytest.mark.parametrize("tier", TIERS)
async def test_regions_outside_answer_not_found(gql, callers, db, tier):
    caller = callers[tier]
    outside = _outside_regions(db, caller)
    assert tier == "NATIONAL" or outside
    for code in [*outside, "999999", "abc"]:
        for query, variables in [
            (REGION_STATS, {"code": code}),
            (MINES, {"filter": {"regionCode": code}}),
            (MINERAL_STATS, {"regionCode": code}),
            (REGION_STATS, {"code": None, "filter": {"regionCode": code}}),
        ]:
            result = await gql(query, variables, caller.token)
            assert set(result.codes) == {"NOT_FOUND"}, (code, query[:30], result.errors)
            assert result.data is None or all(v is None for v in result.data.values())
            assert f"{code!r} not found" in result.errors[0]["message"]


@pytest.mark.parametrize("tier", TIERS)
async def test_mines_outside_are_indistinguishable_from_missing(gql, callers, mines, tier):
    caller = callers[tier]
    inside = _visible_ids(mines, caller)
    outside = [m["id"] for m in mines if m["id"] not in inside][:5]
    missing = max(m["id"] for m in mines) + 1000
    for mine_id in [*outside, missing]:
        result = await gql(MINE_DETAIL, {"id": str(mine_id)}, caller.token)
        assert result.codes == ["NOT_FOUND"]
        assert result.data == {"mine": None}
        assert result.errors[0]["message"] == f"未找到矿山 '{mine_id}' / mine '{mine_id}' not found"
    own = sorted(inside)[0]
    result = await gql(MINE_DETAIL, {"id": str(own)}, caller.token)
    assert result.errors is None and result.data["mine"]["id"] == str(own)


@pytest.mark.parametrize("tier", TIERS)
async def test_mineral_stats_count_only_the_jurisdiction(gql, callers, mines, tier):
    caller = callers[tier]
    result = await gql(MINERAL_STATS, {}, caller.token)
    assert result.errors is None, result.errors
    assert sum(t["stats"]["total"] for t in result.data["mineralTypes"]) == len(_visible_ids(mines, caller))


@pytest.mark.parametrize("tier", TIERS)
async def test_region_mines_and_filters_inside_scope(gql, callers, mines, tier):
    caller = callers[tier]
    result = await gql(REGION_MINES, {"code": caller.region_code, "first": 100}, caller.token)
    ids = {int(e["node"]["id"]) for e in result.data["region"]["mines"]["edges"]}
    assert ids <= _visible_ids(mines, caller) and ids
    filtered = await _all_pages(gql, caller.token, {"filter": {"regionCode": caller.region_code}})
    assert {int(e["node"]["id"]) for e in filtered} == _visible_ids(mines, caller)


async def test_enterprise_sees_its_county_but_only_its_mine(gql, callers):
    caller = callers["ENTERPRISE"]
    result = await gql(ME, token=caller.token)
    me = result.data["me"]
    assert me["tier"] == "ENTERPRISE" and me["guarantorLevel"] == "ENTERPRISE"
    assert me["region"] == {"code": caller.region_code, "level": "COUNTY", "parent": None, "children": []}
    assert me["mine"]["id"] == str(caller.mine_id)


# The only root fields a caller without a token may use: they are how one gets a token.
PUBLIC_ROOTS = {"login", "wechatLogin"}


def _root_fields():
    for root in (schema._schema.query_type, schema._schema.mutation_type):
        for name, field in root.fields.items():
            yield f"{root.name}.{name}", name, field.extensions["strawberry-definition"]


@pytest.mark.parametrize(("path", "name", "definition"), [pytest.param(*f, id=f[0]) for f in _root_fields()])
def test_every_root_field_requires_a_logged_in_caller(path, name, definition):
    """Declared (`permission_classes`) and enforced (the permission extension that runs it)."""
    enforced = [
        permission for extension in definition.extensions if isinstance(extension, PermissionExtension)
        for permission in extension.permissions
    ]
    if name in PUBLIC_ROOTS:
        assert not enforced, f"{path} must stay open: it is how a caller logs in"
        return
    assert IsAuthenticated in definition.permission_classes, f"{path} has no IsAuthenticated permission"
    assert any(isinstance(p, IsAuthenticated) for p in enforced), f"{path}: IsAuthenticated is not enforced"


# Every query root, with valid arguments (a real mine id, a point with mines around it):
# only the missing login stands between the caller and an answer. (`options` is not public:
# the contract puts every root but the logins behind login, and schema/query.py does.)
ANONYMOUS = [
    pytest.param(DASHBOARD, {}, id="dashboard"),
    pytest.param(ME, {}, id="me"),
    pytest.param(MINES, {}, id="mines"),
    pytest.param(REGION_STATS, {}, id="region"),
    pytest.param(MINERAL_STATS, {}, id="mineralTypes"),
    pytest.param(OPTIONS, {}, id="options"),
    pytest.param(MINE_DETAIL, {"id": "MINE"}, id="mine"),
    pytest.param(SUGGESTIONS, {"level": "COUNTY"}, id="guarantorSuggestions"),
    pytest.param(MINES_NEAR, {"lat": "LAT", "lng": "LNG", "datum": "WGS84", "r": 50.0, "first": 5}, id="minesNear"),
]


@pytest.mark.parametrize(("query", "variables"), ANONYMOUS)
async def test_anonymous_callers_get_nothing(gql, db, query, variables):
    mine = db.execute("SELECT id, lat, lng FROM mine WHERE lat IS NOT NULL ORDER BY id LIMIT 1").fetchone()
    real = {"MINE": str(mine["id"]), "LAT": mine["lat"], "LNG": mine["lng"]}
    variables = {key: real.get(value, value) if isinstance(value, str) else value for key, value in variables.items()}
    for token in (None, "not-a-token"):
        result = await gql(query, variables, token)
        assert result.data is None or all(v is None for v in result.data.values()), result.data
        assert set(result.codes) == {"UNAUTHENTICATED"}, result.errors
