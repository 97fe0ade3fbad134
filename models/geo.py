"""Coordinates: datum conversion, the "is this in China" check, the registered-county check,
and distances. Pure functions: no database; county polygons come from models.boundaries.

Datums (docs: /work/shared/domain.md, "Coordinates"): WGS-84 is what GPS reports and what we
store; GCJ-02 is what maps inside China display, offset from WGS-84 by a few hundred metres.
Distances use a sphere of the mean Earth radius; for the few-km tolerances here, the local
equirectangular projection below is accurate to well under 0.1 %.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import prcoords
import shapely

from models.boundaries import county_boundaries
from models.errors import BadUserInput, quoted
from settings import get_settings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from shapely.geometry.base import BaseGeometry

WGS84 = "WGS84"
GCJ02 = "GCJ02"
EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0
# How far outside every county polygon a point may lie and still count as "in China". Generous,
# because the boundary data is simplified and a mine entrance can sit on a small island or
# reef the data omits; a wrong county is caught by inside_county, a wrong country only here.
CHINA_TOLERANCE_KM = 20.0
NOT_FINITE = "坐标必须是有限数值 / lat and lng must be finite numbers (got NaN or infinity)"
# (Chinese, English) halves: a message is all its Chinese, " / ", then all its English.
_SWAP_HINT = ("经纬度可能写反了，应为 lat={lat:g}, lng={lng:g}？",
              "latitude and longitude look swapped: did you mean lat={lat:g}, lng={lng:g}?")


# --------------------------------------------------------------------------- datums


def _in_gcj_area(lat: float, lng: float) -> bool:
    # prcoords applies GCJ-02 only inside its rough China box; its precise inverse ignores that
    # box, so we apply the same rule to both directions to keep them exact inverses.
    return prcoords.sanity_in_china_p(prcoords.Coords(lat, lng))


def to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """WGS-84 to GCJ-02 (unchanged outside prcoords' China box, where GCJ-02 is undefined)."""
    if not _in_gcj_area(lat, lng):
        return (lat, lng)
    out = prcoords.wgs_gcj(prcoords.Coords(lat, lng), False)
    return (out.lat, out.lon)


def to_wgs84(lat: float, lng: float, datum: str) -> tuple[float, float]:
    """A point given in `datum` ("WGS84" or "GCJ02", or the Datum enum) as WGS-84."""
    if datum == WGS84:
        return (lat, lng)
    if datum != GCJ02:
        raise BadUserInput(f"未知的坐标系 {quoted(datum)} / unknown datum {quoted(datum)}: use WGS84 or GCJ02")
    if not _in_gcj_area(lat, lng):
        return (lat, lng)
    # The iterative ("bored") inverse is accurate to about a centimetre; the closed form, metres.
    out = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lng), False)
    return (out.lat, out.lon)


# --------------------------------------------------------------------------- distances


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lat: float, lng: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) containing every point within radius_km: a SQL
    prefilter; callers still compare haversine_km. Clamped to the valid ranges instead of
    wrapping across ±180°, which China never comes near."""
    dlat = radius_km / KM_PER_DEGREE
    min_lat, max_lat = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if min_lat <= -90.0 or max_lat >= 90.0:
        return (min_lat, max_lat, -180.0, 180.0)  # the circle holds a pole: every longitude
    # A degree of longitude is shortest at the box's poleward edge: size the box there so it
    # really contains the circle.
    dlng = radius_km / (KM_PER_DEGREE * math.cos(math.radians(max(abs(min_lat), abs(max_lat)))))
    return (min_lat, max_lat, max(-180.0, lng - dlng), min(180.0, lng + dlng))


def _km_from(geoms: Sequence[BaseGeometry] | np.ndarray, lat: float, lng: float,
             radius_km: float) -> np.ndarray:
    """Distance in km from (lat, lng) to each geometry, for those within radius_km; the others
    come back as inf. Degrees are not distances: each geometry is cut to the box around the
    point, then projected to a local plane in km (longitude scaled by cos(lat)) centred on it."""
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, radius_km)
    clipped = shapely.clip_by_rect(np.asarray(geoms, dtype=object), min_lng, min_lat, max_lng, max_lat)
    scale = np.array([KM_PER_DEGREE * math.cos(math.radians(lat)), KM_PER_DEGREE])
    local = shapely.transform(clipped, lambda xy: (xy - (lng, lat)) * scale)
    distances = shapely.distance(local, shapely.Point(0.0, 0.0))
    # The distance to an empty geometry (nothing inside the box) is NaN: farther than the radius.
    return np.where(np.isnan(distances), np.inf, distances)


# --------------------------------------------------------------------------- checks


def _near_china(lat: float, lng: float, tolerance_km: float = CHINA_TOLERANCE_KM) -> bool:
    data = county_boundaries()
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, tolerance_km)
    d_min_lng, d_min_lat, d_max_lng, d_max_lat = data.bounds
    if max_lat < d_min_lat or min_lat > d_max_lat or max_lng < d_min_lng or min_lng > d_max_lng:
        return False  # cheap exit for the far-away case, e.g. Europe or a (0, 0) default
    # The tree finds the few polygons whose boxes hold the point; their prepared forms decide.
    if shapely.contains_xy(data.polygons[data.tree.query(shapely.Point(lng, lat))], lng, lat).any():
        return True
    # Outside every polygon: distance to the nearest one is distance to the country.
    near = data.tree.query(shapely.box(min_lng, min_lat, max_lng, max_lat))
    if not len(near):
        return False
    return bool((_km_from(data.polygons[near], lat, lng, tolerance_km) <= tolerance_km).any())


def _valid_point(lat: float, lng: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0 and _near_china(lat, lng)


def check_in_china(lat: float, lng: float) -> None:
    """Raise BadUserInput unless (lat, lng) is a finite point in, or within CHINA_TOLERANCE_KM
    of, China's territory as the county polygons draw it (Taiwan, Hong Kong, Macau and the
    South China Sea islands included: whether a mine belongs to the registry is for the county
    check and the region tree to say). Works on either datum: their offset is under 1 km."""
    lat, lng = float(lat), float(lng)
    if not (math.isfinite(lat) and math.isfinite(lng)):
        raise BadUserInput(NOT_FINITE)
    if not -90.0 <= lat <= 90.0:
        zh, en = f"纬度超出范围（当前为 {lat:g}）", f"latitude must be between -90 and 90 (got {lat:g})"
    elif not -180.0 <= lng <= 180.0:
        zh, en = f"经度超出范围（当前为 {lng:g}）", f"longitude must be between -180 and 180 (got {lng:g})"
    elif not _near_china(lat, lng):
        zh = f"坐标不在中国境内（lat={lat:g}, lng={lng:g}），请检查经纬度顺序和坐标系"
        en = f"the point lat={lat:g}, lng={lng:g} lies outside China: check latitude/longitude order and datum"
    else:
        return
    # The commonest mistake: (lng, lat) in (lat, lng) order. China's longitudes exceed 90, so
    # such input usually fails the range check; say what was probably meant.
    if _valid_point(lng, lat):
        zh += "；" + _SWAP_HINT[0].format(lat=lng, lng=lat)
        en += "; " + _SWAP_HINT[1].format(lat=lng, lng=lat)
    raise BadUserInput(f"{zh} / {en}")


def inside_county(county_code: str, lat_wgs84: float, lng_wgs84: float,
                  tolerance_km: float | None = None) -> bool | None:
    """Whether a WGS-84 point lies in the county's polygon or within tolerance_km of it
    (default: settings.county_tolerance_km; boundary sources disagree by a few km, so a point
    just across the line is not flagged). None when no polygon is known for the code."""
    if not (math.isfinite(lat_wgs84) and math.isfinite(lng_wgs84)):
        raise BadUserInput(NOT_FINITE)
    data = county_boundaries()
    index = data.index_of(county_code)
    if index is None:
        return None
    if tolerance_km is None:
        tolerance_km = get_settings().county_tolerance_km
    polygon = data.polygons[index]
    if shapely.contains_xy(polygon, lng_wgs84, lat_wgs84):
        return True
    if tolerance_km <= 0:
        return False
    return bool(_km_from([polygon], lat_wgs84, lng_wgs84, tolerance_km)[0] <= tolerance_km)


def warm_up() -> None:
    """Load the polygons now (e.g. at startup) rather than in the first request that needs them."""
    county_boundaries()
