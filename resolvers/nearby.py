"""Mines near a point: the inspector's "my position" map view."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sqlalchemy import and_, select

from auth.scope import jurisdiction
from models import geo
from models.errors import BadUserInput
from models.mine import Mine

if TYPE_CHECKING:
    from models.enums import Datum
    from web.context import Context

MAX_RADIUS_KM = 300.0
MAX_RESULTS = 100


async def mines_near(
    ctx: Context, lat: float, lng: float, datum: Datum, radius_km: float, first: int
) -> list[tuple[object, float]]:
    """(mine row, distance in km) for located mines in scope, nearest first."""
    if not (math.isfinite(radius_km) and 0 < radius_km <= MAX_RADIUS_KM):
        raise BadUserInput(f"搜索半径 radiusKm 必须大于 0 且不超过 {MAX_RADIUS_KM:g} 千米 / "
                           f"radiusKm must be above 0 and at most {MAX_RADIUS_KM:g}")
    if not 0 <= first <= MAX_RESULTS:
        raise BadUserInput(f"返回条数 first 必须在 0 到 {MAX_RESULTS} 之间（当前为 {first}） / "
                           f"first must be between 0 and {MAX_RESULTS} (got {first})")
    if not (math.isfinite(lat) and math.isfinite(lng)):
        raise BadUserInput(geo.NOT_FINITE)
    geo.check_in_china(lat, lng)
    here_lat, here_lng = geo.to_wgs84(lat, lng, datum.value)
    min_lat, max_lat, min_lng, max_lng = geo.bounding_box(here_lat, here_lng, radius_km)
    statement = select(Mine).where(
        and_(
            jurisdiction(ctx.scope),
            Mine.lat.between(min_lat, max_lat),
            Mine.lng.between(min_lng, max_lng),
        )
    )
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    found = [(row, geo.haversine_km(here_lat, here_lng, row.lat, row.lng)) for row in rows]
    found = [pair for pair in found if pair[1] <= radius_km]
    found.sort(key=lambda pair: (pair[1], pair[0].code))
    return found[:first]
