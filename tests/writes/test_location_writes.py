"""Setting a mine's location through GraphQL: the county check is a warning, never a refusal,
and a GCJ-02 point is stored as the WGS-84 point it stands for."""

from __future__ import annotations

import prcoords
import pytest
from shapely.geometry import Point

from models.boundaries import county_boundaries
from models.geo import haversine_km
from support.queries import HISTORY, UPDATE_LOCATION

# Degrees between a point and a polygon, as shapely measures them: 0.4 is at least 26 km
# anywhere in China (a degree of longitude is 65 km or more below 54°N), well past the
# county tolerance (3 km by default).
FAR_DEGREES = 0.4


def _neighbour_point(boundaries, polygon, province: str):
    """The representative point of the nearest county of another province that lies well
    outside `polygon` (None when no such county is within 3 degrees)."""
    candidates = []
    for index in boundaries.tree.query(polygon.representative_point().buffer(3.0)):
        if boundaries.codes[index][:2] != province[:2]:
            point = boundaries.polygons[index].representative_point()
            if polygon.distance(point) > FAR_DEGREES:
                candidates.append((polygon.distance(point), point))
    return min(candidates, key=lambda pair: pair[0])[1] if candidates else None


@pytest.fixture(scope="module")
def site(fresh_env) -> dict:
    """A mine, a point inside its county and one in a county of a neighbouring province."""
    boundaries = county_boundaries()
    for mine in fresh_env.db.execute("SELECT id, code, county_code, province_code FROM mine ORDER BY id"):
        polygon = boundaries.polygon(mine["county_code"])
        outside = None if polygon is None else _neighbour_point(boundaries, polygon, mine["province_code"])
        if outside is not None:
            break
    inside = polygon.representative_point()
    assert polygon.contains(Point(inside.x, inside.y)) and fresh_env.settings.county_tolerance_km < 20
    return {"mine": dict(mine), "inside": (inside.y, inside.x), "outside": (outside.y, outside.x)}


def _row(db, mine_id: int) -> dict:
    return dict(db.execute("SELECT lat, lng, source_datum, inside_county, version FROM mine WHERE id = ?",
                           (mine_id,)).fetchone())


async def _latest_change(env, mine_id: int) -> dict:
    result = await env.gql(HISTORY, {"id": str(mine_id)}, await env.token("000000-001"))
    return result.data["mine"]["history"][0]


async def test_a_point_outside_the_county_is_saved_and_flagged(fresh_env, site):
    mine, db = site["mine"], fresh_env.db
    token = await fresh_env.token(mine["code"])
    version = _row(db, mine["id"])["version"]
    for step, (where, expected) in enumerate((("inside", True), ("outside", False)), start=1):
        lat, lng = site[where]
        result = await fresh_env.gql(
            UPDATE_LOCATION, {"id": str(mine["id"]), "lat": lat, "lng": lng, "datum": "WGS84"}, token
        )
        assert result.errors is None, (where, result.errors)  # a warning, not a rejection
        answer = result.data["updateMineLocation"]
        assert answer["location"]["insideCounty"] is expected, where
        assert answer["version"] == version + step
        row = _row(db, mine["id"])
        assert (row["lat"], row["lng"], row["version"]) == (lat, lng, version + step)
        assert row["inside_county"] is not None and bool(row["inside_county"]) is expected
        change = await _latest_change(fresh_env, mine["id"])
        assert change["field"] == "location"
        assert change["newValue"] == {"wgs84": {"lat": lat, "lng": lng}, "gcj02": answer["location"]["gcj02"],
                                      "sourceDatum": "WGS84", "insideCounty": expected}


async def test_a_gcj02_point_is_stored_as_its_wgs84_point(fresh_env, site):
    mine, db = site["mine"], fresh_env.db
    wgs_lat, wgs_lng = site["inside"]
    shifted = prcoords.wgs_gcj(prcoords.Coords(wgs_lat, wgs_lng), False)
    assert haversine_km(wgs_lat, wgs_lng, shifted.lat, shifted.lon) > 0.1  # the datums really differ here
    version = _row(db, mine["id"])["version"]
    result = await fresh_env.gql(
        UPDATE_LOCATION, {"id": str(mine["id"]), "lat": shifted.lat, "lng": shifted.lon, "datum": "GCJ02"},
        await fresh_env.token(mine["code"]),
    )
    assert result.errors is None, result.errors
    answer = result.data["updateMineLocation"]
    assert answer["version"] == version + 1
    location = answer["location"]
    assert location["sourceDatum"] == "GCJ02" and location["insideCounty"] is True
    assert location["gcj02"] == {"lat": pytest.approx(shifted.lat, abs=1e-6), "lng": pytest.approx(shifted.lon, abs=1e-6)}
    row = _row(db, mine["id"])
    assert row["source_datum"] == "GCJ02" and row["inside_county"] is not None and bool(row["inside_county"])
    assert haversine_km(row["lat"], row["lng"], wgs_lat, wgs_lng) < 0.001  # within a metre of the GPS point
    assert (location["wgs84"]["lat"], location["wgs84"]["lng"]) == (row["lat"], row["lng"])
    change = await _latest_change(fresh_env, mine["id"])
    assert change["newValue"]["sourceDatum"] == "GCJ02" and change["newValue"]["insideCounty"] is True
    assert change["newValue"]["gcj02"] == {"lat": shifted.lat, "lng": shifted.lon}  # as sent
    assert change["newValue"]["wgs84"] == location["wgs84"]
