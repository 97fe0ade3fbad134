"""Campaign progress: completeness counts and the to-do filters, against a recount."""

from __future__ import annotations

import prcoords
import pytest

from models.geo import haversine_km
from support.queries import COMPLETENESS, MINERAL_COMPLETENESS, MINES, MINES_NEAR
from support.reference import expected_completeness, guarantor_levels, in_region, matches, visible, walk_tree
from support.statements import StatementCounter

LEVELS = ["PROVINCE", "CITY", "COUNTY", "ENTERPRISE"]


@pytest.mark.parametrize("spec", [None, {"scales": ["SMALL"]}, {"missingLocation": True}])
async def test_completeness_equals_a_recount(gql, callers, mines, levels, db, spec):
    result = await gql(COMPLETENESS, {"filter": spec}, callers["NATIONAL"].token)
    assert result.errors is None, result.errors
    by_mine = guarantor_levels(db)
    selected = [m for m in mines if not spec or (
        ("scales" not in spec or m["scale"] in spec["scales"])
        and ("missingLocation" not in spec or (m["lat"] is None) == spec["missingLocation"]))]
    assert result.data["dashboard"]["completeness"] == expected_completeness(mines, by_mine)
    for node in walk_tree(result.data["region"]):
        inside = [m for m in selected if in_region(m, node["code"], levels[node["code"]])]
        assert node["completeness"] == expected_completeness(inside, by_mine), node["code"]
    assert 0 < result.data["dashboard"]["completeness"]["complete"] < len(mines)


@pytest.mark.parametrize(("tier", "spec", "within"), [
    ("NATIONAL", None, None), ("PROVINCE", {"scales": ["SMALL"]}, "CITY"), ("ENTERPRISE", None, None),
])
async def test_mineral_completeness_drills_down_the_mineral_tree(app, gql, callers, mines, levels, db, tier, spec,
                                                                 within):
    """Campaign progress per mineral type, the way mineral statistics drill down: each node
    recounted from the rows, each parent the sum of its children, the whole tree one statement."""
    caller = callers[tier]
    region = callers[within].region_code if within else None
    with StatementCounter.of(app) as counter:
        result = await gql(MINERAL_COMPLETENESS, {"regionCode": region, "filter": spec}, caller.token)
    assert result.errors is None, result.errors
    assert len(counter.stats_statements) == 1, counter.stats_statements
    by_mine = guarantor_levels(db)
    selected = [m for m in mines if visible(m, caller) and matches(m, spec, levels)
                and (region is None or in_region(m, region, levels[region]))]
    column = {1: "category_code", 2: "group_code", 3: "mineral_code"}
    nodes = 0
    for top in result.data["mineralTypes"]:
        for node in walk_tree(top):
            inside = [m for m in selected if m[column[node["level"]]] == node["code"]]
            assert node["completeness"] == expected_completeness(inside, by_mine), node["code"]
            for name, value in node["completeness"].items():
                if node.get("children"):
                    assert value == sum(c["completeness"][name] for c in node["children"]), (node["code"], name)
            nodes += 1
    assert nodes > 50
    assert sum(t["completeness"]["total"] for t in result.data["mineralTypes"]) == len(selected) > 0


@pytest.mark.parametrize("level", LEVELS)
async def test_missing_guarantor_filter_finds_the_to_do_list(gql, callers, db, mines, level):
    caller = callers["COUNTY"]
    by_mine = guarantor_levels(db)
    expected = sorted(
        m["code"] for m in mines
        if m["county_code"] == caller.region_code and level not in by_mine.get(m["id"], set())
        and not (level == "CITY" and m["city_code"] is None)
    )
    result = await gql(MINES, {"filter": {"missingGuarantorLevel": level}, "first": 100}, caller.token)
    assert sorted(e["node"]["code"] for e in result.data["mines"]["edges"]) == expected
    assert result.data["mines"]["totalCount"] == len(expected)


async def test_missing_location_filter(gql, callers, mines):
    caller = callers["CITY"]
    for missing in (True, False):
        result = await gql(MINES, {"filter": {"missingLocation": missing}, "first": 0}, caller.token)
        expected = sum(1 for m in mines if m["city_code"] == caller.region_code and (m["lat"] is None) == missing)
        assert result.data["mines"]["totalCount"] == expected


async def test_mines_near_are_nearest_first_within_radius_and_scope(env, gql, callers, mines):
    caller = callers["PROVINCE"]
    located = [m for m in mines if m["lat"] is not None and m["province_code"] == caller.region_code]
    centre = located[0]
    radius = 150.0
    result = await gql(
        MINES_NEAR, {"lat": centre["lat"], "lng": centre["lng"], "datum": "WGS84", "r": radius, "first": 100},
        caller.token,
    )
    assert result.errors is None, result.errors
    found = result.data["minesNear"]
    expected = sorted(
        (round(haversine_km(centre["lat"], centre["lng"], m["lat"], m["lng"]), 3), m["code"])
        for m in located if haversine_km(centre["lat"], centre["lng"], m["lat"], m["lng"]) <= radius
    )[:100]
    assert [(f["distanceKm"], f["mine"]["code"]) for f in found] == expected
    assert found[0]["distanceKm"] == 0.0
    assert len(found) > 1  # other mines lie around it: the enterprise case below is a real restriction
    # The centre mine's own account sees that mine only, though the others are as near as before.
    own = await gql(
        MINES_NEAR, {"lat": centre["lat"], "lng": centre["lng"], "datum": "WGS84", "r": 300, "first": 100},
        await env.token(centre["code"]),
    )
    assert own.errors is None, own.errors
    assert [(f["mine"]["id"], f["distanceKm"]) for f in own.data["minesNear"]] == [(str(centre["id"]), 0.0)]


async def test_mines_near_takes_a_gcj02_centre(gql, callers, mines):
    """The same place given in GCJ-02 (what a map in China shows) finds the same mines, at the
    same distances to within a few metres: the centre is converted before measuring."""
    caller = callers["NATIONAL"]
    centre = next(m for m in mines if m["lat"] is not None)
    shifted = prcoords.wgs_gcj(prcoords.Coords(centre["lat"], centre["lng"]), False)
    assert haversine_km(centre["lat"], centre["lng"], shifted.lat, shifted.lon) > 0.1  # really another datum
    answers = {}
    for datum, (lat, lng) in {"WGS84": (centre["lat"], centre["lng"]), "GCJ02": (shifted.lat, shifted.lon)}.items():
        result = await gql(MINES_NEAR, {"lat": lat, "lng": lng, "datum": datum, "r": 120, "first": 100}, caller.token)
        assert result.errors is None, result.errors
        answers[datum] = {f["mine"]["code"]: f["distanceKm"] for f in result.data["minesNear"]}
    assert answers["GCJ02"].keys() == answers["WGS84"].keys() and 1 < len(answers["WGS84"]) < 100  # none cut off
    for code, km in answers["WGS84"].items():
        assert answers["GCJ02"][code] == pytest.approx(km, abs=0.005), code


@pytest.mark.parametrize(("variables", "code"), [({"r": 0}, "BAD_USER_INPUT"), ({"r": 5000}, "BAD_USER_INPUT"),
                                                 ({"first": 500}, "BAD_USER_INPUT"), ({"lat": 48.85, "lng": 2.35},
                                                                                       "BAD_USER_INPUT")])
async def test_mines_near_rejects_bad_input(gql, callers, variables, code):
    base = {"lat": 25.04, "lng": 102.71, "datum": "GCJ02", "r": 10, "first": 10}
    result = await gql(MINES_NEAR, {**base, **variables}, callers["NATIONAL"].token)
    assert result.codes == [code]
