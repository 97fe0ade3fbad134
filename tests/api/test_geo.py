"""models.geo: datums, the China check, the registered-county check, distances.

Points near county borders are built from the polygons themselves (not hard-coded), and checked
against an independent oracle: haversine distances to a densified copy of the boundary.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import shapely

from models import geo
from models.boundaries import county_boundaries, load_code_notes
from models.enums import Datum
from models.errors import BadUserInput
from seed.reference import region_rows

BEIJING = (39.9042, 116.4074)
SHANGHAI = (31.2304, 121.4737)
TOLERANCE_KM = 3.0


def _counties() -> list[str]:
    return [r["code"] for r in region_rows() if r["level"] == "COUNTY"]


def _destination(lat: float, lng: float, east_km: float, north_km: float) -> tuple[float, float]:
    """A point offset by small distances in km (local plane: fine for ≤ tens of km)."""
    return (lat + north_km / geo.KM_PER_DEGREE,
            lng + east_km / (geo.KM_PER_DEGREE * math.cos(math.radians(lat))))


def _oracle_km(polygon, lat: float, lng: float) -> float:
    """Distance to the polygon's boundary as the minimum haversine distance to its vertices,
    densified to ≤ ~200 m spacing: shares no code with geo's local projection."""
    coords = shapely.get_coordinates(shapely.segmentize(polygon.boundary, 0.002))
    p1, p2 = math.radians(lat), np.radians(coords[:, 1])
    h = (np.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * np.cos(p2) * np.sin(np.radians(coords[:, 0] - lng) / 2) ** 2)
    return float((2 * geo.EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))).min())


def _outward_points(code: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """Points 1 km and 10 km outside the county, off the midpoint of a boundary edge along its
    outward normal; edges are tried until both points are clearly outside (a concave border
    can fold back)."""
    polygon = county_boundaries().polygon(code)
    largest = max(shapely.get_parts(polygon), key=lambda part: part.area)
    ring = shapely.get_coordinates(largest.exterior)
    for i in range(0, len(ring) - 1, max(1, len(ring) // 50)):
        (x0, y0), (x1, y1) = ring[i], ring[i + 1]
        mid_lat, mid_lng = (y0 + y1) / 2, (x0 + x1) / 2
        kx = geo.KM_PER_DEGREE * math.cos(math.radians(mid_lat))
        dx, dy = (x1 - x0) * kx, (y1 - y0) * geo.KM_PER_DEGREE
        length = math.hypot(dx, dy)
        if length < 0.2:
            continue
        east, north = dy / length, -dx / length
        probe = _destination(mid_lat, mid_lng, east * 0.01, north * 0.01)
        if shapely.contains_xy(polygon, probe[1], probe[0]):
            east, north = -east, -north
        near = _destination(mid_lat, mid_lng, east, north)
        far = _destination(mid_lat, mid_lng, east * 10, north * 10)
        if (not shapely.contains_xy(polygon, near[1], near[0])
                and not shapely.contains_xy(polygon, far[1], far[0])
                and _oracle_km(polygon, *near) < 1.1
                and _oracle_km(polygon, *far) > TOLERANCE_KM + 1):
            return near, far
    raise AssertionError(f"no usable border edge found for {code}")


# --------------------------------------------------------------------------- datums


def test_wgs_gcj_round_trip_within_a_metre():
    rng = np.random.default_rng(7)
    for lat, lng in zip(rng.uniform(18, 53, 500), rng.uniform(74, 135, 500), strict=True):
        back = geo.to_wgs84(*geo.to_gcj02(lat, lng), "GCJ02")
        assert geo.haversine_km(lat, lng, *back) * 1000 < 1.0


def test_gcj_offset_in_beijing_is_a_few_hundred_metres():
    offset_m = geo.haversine_km(*BEIJING, *geo.to_gcj02(*BEIJING)) * 1000
    assert 100 < offset_m < 1000


def test_datum_accepts_strings_and_the_enum():
    assert geo.to_wgs84(*BEIJING, "WGS84") == BEIJING
    assert geo.to_wgs84(*BEIJING, Datum.WGS84) == BEIJING
    assert geo.to_wgs84(*BEIJING, Datum.GCJ02) == geo.to_wgs84(*BEIJING, "GCJ02") != BEIJING
    with pytest.raises(BadUserInput, match="unknown datum"):
        geo.to_wgs84(*BEIJING, "BD09")


def test_gcj_leaves_points_outside_its_area_unchanged_both_ways():
    tokyo = (35.68, 139.69)
    assert geo.to_gcj02(*tokyo) == tokyo
    assert geo.to_wgs84(*tokyo, "GCJ02") == tokyo


# --------------------------------------------------------------------------- China check


@pytest.mark.parametrize("lat, lng", [(math.nan, 100.0), (30.0, math.nan), (math.inf, 100.0), (30.0, -math.inf)])
def test_non_finite_is_rejected(lat, lng):
    with pytest.raises(BadUserInput, match="finite"):
        geo.check_in_china(lat, lng)


@pytest.mark.parametrize("lat, lng, word", [(91.0, 100.0, "latitude"), (-90.5, 100.0, "latitude"),
                                            (30.0, 180.5, "longitude"), (30.0, -181.0, "longitude")])
def test_out_of_range_is_rejected(lat, lng, word):
    with pytest.raises(BadUserInput, match=f"{word} must be between"):
        geo.check_in_china(lat, lng)


@pytest.mark.parametrize("place, lat, lng", [
    ("Tokyo", 35.68, 139.69), ("Hanoi", 21.03, 105.85), ("Seoul", 37.57, 126.98),
    ("Ulaanbaatar", 47.92, 106.92), ("Kathmandu", 27.70, 85.32), ("East China Sea", 31.0, 125.0),
    ("Null Island", 0.0, 0.0),
])
def test_outside_china_is_rejected(place, lat, lng):
    with pytest.raises(BadUserInput, match="outside China") as caught:
        geo.check_in_china(lat, lng)
    assert "swapped" not in caught.value.message


@pytest.mark.parametrize("place, lat, lng", [
    ("Kunming", 25.04, 102.71), ("Sanya", 18.25, 109.51), ("Beijing", *BEIJING), ("Mohe", 53.48, 122.35),
    ("Kashgar", 39.47, 75.99), ("10 km off Qingdao", 36.0, 120.6),
    # Decision: the South China Sea islands (三沙市, in the region tree as 西沙区/南沙区) are in
    # China; this is 永兴岛 (Woody Island) in the Paracels.
    ("Xisha", 16.83, 112.33),
    # Decision: Taiwan, Hong Kong and Macau are China for this check; the registry leaves them
    # out of the region tree, so a mine there fails the county check instead.
    ("Taipei", 25.03, 121.56), ("Hong Kong", 22.30, 114.17),
])
def test_inside_china_passes(place, lat, lng):
    geo.check_in_china(lat, lng)


def test_xisha_point_is_in_xisha_district():
    assert geo.inside_county("460302", 16.83, 112.33) is True


@pytest.mark.parametrize("lat, lng", [(116.4074, 39.9042), (85.0, 45.0)])
def test_swapped_coordinates_are_pointed_out(lat, lng):
    with pytest.raises(BadUserInput, match="swapped") as caught:
        geo.check_in_china(lat, lng)
    assert f"did you mean lat={lng:g}, lng={lat:g}" in caught.value.message


# --------------------------------------------------------------------------- county check


# Ordinary districts, prefecture-level cities registered as counties (东莞, 嘉峪关), a
# municipality district, and codes resolved through boundary_code_aliases.json (米林, 西沙).
SAMPLE_COUNTIES = ["110105", "530102", "441900", "620200", "500101", "540481", "460302"]


@pytest.mark.parametrize("code", SAMPLE_COUNTIES)
def test_a_point_of_the_county_is_inside(code):
    point = county_boundaries().polygon(code).representative_point()
    assert geo.inside_county(code, point.y, point.x) is True


def test_a_point_of_a_far_away_county_is_not():
    kunming = county_boundaries().polygon("530102").representative_point()
    assert geo.inside_county("110105", kunming.y, kunming.x) is False


@pytest.mark.parametrize("code", SAMPLE_COUNTIES)
def test_tolerance_is_in_kilometres(code):
    near, far = _outward_points(code)
    assert geo.inside_county(code, *near, TOLERANCE_KM) is True
    assert geo.inside_county(code, *near) is True  # the default from settings (3 km)
    assert geo.inside_county(code, *near, 0.5) is False
    assert geo.inside_county(code, *far, TOLERANCE_KM) is False
    assert geo.inside_county(code, *far, 12.0) is True


def test_county_check_rejects_non_finite_points():
    with pytest.raises(BadUserInput, match="finite"):
        geo.inside_county("110105", math.nan, 116.4)


@pytest.mark.parametrize("code", ["999999", "", "110000", "653228"])
def test_unknown_or_unmapped_code_gives_none(code):
    assert geo.inside_county(code, *BEIJING) is None


def test_polygon_coverage_of_the_region_tree():
    data = county_boundaries()
    counties = _counties()
    missing = [c for c in counties if data.index_of(c) is None]
    print(f"\ncounties without a polygon: {len(missing)} of {len(counties)}: {missing}")
    assert 1 - len(missing) / len(counties) > 0.97
    documented = {m["code"] for m in load_code_notes()["missing"]}
    assert set(missing) <= documented, (
        f"counties without a polygon not listed in boundary_code_aliases.json: {sorted(set(missing) - documented)}"
    )


def test_aliases_are_sound():
    """Each alias maps a region-tree county with no polygon of its own to a polygon of the same
    name; each documented gap is a real county still without one."""
    data = county_boundaries()
    counties = set(_counties())
    native = set(data.codes)
    notes = load_code_notes()
    for alias in notes["aliases"]:
        assert alias["code"] in counties and alias["code"] not in native, alias
        assert alias["boundary_code"] in native, alias
        assert data.names[data.codes.index(alias["boundary_code"])] == alias["name"], alias
        assert alias["reason"]
    for gap in notes["missing"]:
        assert gap["code"] in counties and data.index_of(gap["code"]) is None, gap


def test_every_county_contains_its_own_point_and_lies_in_china():
    """Sanity over the whole tree: the data, the aliases and the checks agree for every county."""
    data = county_boundaries()
    for code in _counties():
        polygon = data.polygon(code)
        if polygon is None:
            continue
        point = polygon.representative_point()
        assert geo.inside_county(code, point.y, point.x, 0.0) is True, code
        geo.check_in_china(point.y, point.x)


def test_polygons_load_once_across_threads():
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(county_boundaries())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(x) for x in seen}) == 1


# --------------------------------------------------------------------------- distances


def test_haversine_beijing_shanghai():
    assert geo.haversine_km(*BEIJING, *SHANGHAI) == pytest.approx(1067, abs=5)
    assert geo.haversine_km(*SHANGHAI, *BEIJING) == pytest.approx(geo.haversine_km(*BEIJING, *SHANGHAI))
    assert geo.haversine_km(*BEIJING, *BEIJING) == 0.0


@pytest.mark.parametrize("lat, lng", [BEIJING, (53.5, 122.3), (18.2, 109.5), (-45.0, 170.0)])
def test_bounding_box_holds_the_circle(lat, lng):
    radius = 50.0
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(lat, lng, radius)
    for bearing in range(0, 360, 15):
        # Exact great-circle destination at `radius` along `bearing`.
        d, b, p1 = radius / geo.EARTH_RADIUS_KM, math.radians(bearing), math.radians(lat)
        p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
        l2 = math.radians(lng) + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1),
                                            math.cos(d) - math.sin(p1) * math.sin(p2))
        eps = 1e-9  # due north/south lands exactly on the edge, give or take rounding
        assert min_lat - eps <= math.degrees(p2) <= max_lat + eps
        assert min_lng - eps <= math.degrees(l2) <= max_lng + eps
    assert max_lat - min_lat == pytest.approx(2 * radius / geo.KM_PER_DEGREE)


def test_bounding_box_clamps_instead_of_wrapping():
    assert geo.bounding_box(0.0, 179.99, 10.0)[3] == 180.0
    assert geo.bounding_box(0.0, -179.99, 10.0)[2] == -180.0
    assert geo.bounding_box(89.99, 10.0, 50.0) == pytest.approx((89.99 - 50 / geo.KM_PER_DEGREE, 90.0, -180.0, 180.0))
