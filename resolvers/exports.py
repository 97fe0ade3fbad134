"""The mine export: the caller's mines, page by page, as the template's rows of cells.

Every statement is built with `jurisdiction(scope)` and the filter's clauses, in the API's list
order (county code, mine code). Pages are read by keyset, so memory stays flat and each page
costs the same however far in; each page's guarantors come in one more statement. Pages are not
one snapshot: a mine changed while an export runs appears once, as its page read it.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select, tuple_

from auth.export_links import sign_link
from auth.scope import jurisdiction
from models.enums import (
    Datum, DevelopmentMethod, GuarantorLevel, MineScale, ProductionStatus, SupervisoryBody, VerificationState,
)
from models.geo import GCJ02, to_gcj02
from models.mine import Guarantor, Mine
from resolvers.filters import filter_clauses
from spreadsheets.columns import COLUMNS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping
    from datetime import datetime, tzinfo

    from sqlalchemy.ext.asyncio import AsyncEngine

    from auth.scope import Scope
    from auth.sessions import CurrentUser
    from models.trees import Trees
    from resolvers.filters import FilterSpec
    from settings import Settings

PAGE_SIZE = 1000  # mines per statement: ~1 MB of rows in flight, 100 statements per 100,000 mines
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_GUARANTOR_PARTS = ("name", "position", "phone")


def region_path(trees: Trees, county_code: str) -> str:
    """所属行政区域: the province's, city's and county's names joined (云南省昆明市五华区)."""
    chain = trees.region_ancestors(trees.regions[county_code])  # the county first, the nation last
    return "".join(node.name for node in reversed(chain) if node.parent_code is not None)


def development_cell(method: str, detail: str | None) -> str:
    """开拓方式: the method's label; for COMBINED its combination when known (竖井-斜坡道), which
    an import reads back as COMBINED with that detail (a bare 联合开拓 is COMBINED without one)."""
    if method == DevelopmentMethod.COMBINED.value and detail:
        return detail
    return DevelopmentMethod(method).label


def location_cells(lat: float | None, lng: float | None, source_datum: str | None) -> list:
    """经度, 纬度, 坐标系: the point in the datum it was entered in (stored as WGS-84)."""
    if lat is None or lng is None:
        return [None, None, None]
    datum = Datum(source_datum or Datum.WGS84.value)
    if datum.value == GCJ02:
        lat, lng = to_gcj02(lat, lng)
    return [lng, lat, datum.label]


def local_text(value: datetime, zone: tzinfo) -> str:
    """A stored (UTC) time in the service's zone: 'YYYY-MM-DD HH:MM:SS'."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime(TIME_FORMAT)


def mine_cells(mine, guarantors: Mapping[str, object], trees: Trees, zone: tzinfo) -> list:
    """One mine as the template's row, in COLUMNS order, each value as an import reads it back.

    `mine` is a Mine row (or anything with its attributes); `guarantors` maps a GuarantorLevel value
    to a row with name, position and phone. 规模 is written only when the scale was set by hand
    (scale_override_note): an empty cell means "derive it from the capacity", so a re-import
    neither freezes a derived scale nor loses an override."""
    people = []
    for level in GuarantorLevel:
        person = guarantors.get(level.value)
        people += [getattr(person, part) if person is not None else None for part in _GUARANTOR_PARTS]
    return [
        mine.code,
        mine.name,
        mine.county_code,
        region_path(trees, mine.county_code),
        trees.minerals[mine.mineral_code].name,
        mine.design_capacity,
        mine.capacity_unit,
        development_cell(mine.development_method, mine.development_detail),
        mine.max_depth,
        mine.workers_per_shift,
        ProductionStatus(mine.production_status).label,
        SupervisoryBody(mine.supervisory_body).label,
        mine.principal_name,
        mine.principal_phone,
        *location_cells(mine.lat, mine.lng, mine.source_datum),
        *people,
        MineScale(mine.scale).label if mine.scale_override_note is not None else None,
        mine.version,
        local_text(mine.updated_at, zone),
        VerificationState(mine.verification_state or VerificationState.UNVERIFIED.value).label,
    ]


assert len(COLUMNS) == 17 + 12 + 4, "mine_cells writes one cell per column of spreadsheets/columns.py"


async def mine_rows(
    engine: AsyncEngine, scope: Scope, spec: FilterSpec, trees: Trees, settings: Settings,
    page_size: int = PAGE_SIZE,
) -> AsyncIterator[list[list]]:
    """The caller's mines matching the filter, a page of rows of cells at a time."""
    zone = ZoneInfo(settings.timezone)
    listed = [jurisdiction(scope), *filter_clauses(spec, trees, settings)]
    position: tuple[str, str] | None = None
    while True:
        conditions = list(listed)
        if position is not None:
            conditions.append(tuple_(Mine.county_code, Mine.code) > tuple_(*position))
        statement = select(Mine).where(and_(*conditions)).order_by(Mine.county_code, Mine.code).limit(page_size)
        async with engine.connect() as conn:
            mines = (await conn.execute(statement)).all()
            people = await _guarantors(conn, scope, [m.id for m in mines]) if mines else {}
        if not mines:
            return
        yield [mine_cells(m, people.get(m.id, {}), trees, zone) for m in mines]
        if len(mines) < page_size:
            return
        position = (mines[-1].county_code, mines[-1].code)


async def _guarantors(conn, scope: Scope, mine_ids: list[int]) -> dict[int, dict[str, object]]:
    """The page's guarantors by mine and level, in one statement, inside the jurisdiction like every
    statement over mines. Both sides are bounded by the page's ids: with only the guarantors' side
    bounded, PostgreSQL hashed the whole mine table for every page (a sequential scan per 1,000
    mines; the 100,000-mine CSV export took 2.07 × its floor, bench/README.md "Export"); with
    `mine.id` bounded too it reads both tables by key."""
    statement = (
        select(Guarantor.mine_id, Guarantor.level, Guarantor.name, Guarantor.position, Guarantor.phone)
        .join(Mine, Mine.id == Guarantor.mine_id)
        .where(Guarantor.mine_id.in_(mine_ids), Mine.id.in_(mine_ids), jurisdiction(scope))
    )
    found: dict[int, dict[str, object]] = {}
    for row in (await conn.execute(statement)).all():
        found.setdefault(row.mine_id, {})[row.level] = row
    return found


# --------------------------------------------------------------------------- download links

# ExportKind → the route that serves it (web/export_http.py registers exactly these).
EXPORT_PATHS = {
    "MINES_XLSX": "/export/mines.xlsx",
    "MINES_CSV": "/export/mines.csv",
    "STATS_XLSX": "/export/stats.xlsx",
    "STATS_CSV": "/export/stats.csv",
    "TEMPLATE": "/export/template.xlsx",
}


def export_link(user: CurrentUser, settings: Settings, kind: str, params: Mapping[str, str | None]) -> str:
    """A signed path (relative: the client prefixes the address it reached the API at, which
    behind a proxy the service cannot know) that downloads `kind` for this user's session."""
    return sign_link(settings.resolved_secret_key(), EXPORT_PATHS[kind], params, user)
