"""Root query. Every field requires a logged-in caller; data is scoped below."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models import enums
from models.errors import BadUserInput
from resolvers.change_requests import request_page
from resolvers.export_stats import MAX_DEPTH
from resolvers.exports import export_link
from resolvers import import_reports
from resolvers.filters import parse_filter
from resolvers.guarantors import suggestions
from resolvers.mines import get_mine, mine_page
from resolvers.nearby import mines_near
from resolvers.minerals import mineral_types
from resolvers.regions import get_region, root_region
from resolvers.statistics import ScopedNode
from schema.enums import ChangeRequestStatus, Datum, ExportKind, GuarantorLevel
from schema.inputs import MineFilterInput, filter_json
from auth.permissions import IsAuthenticated
from execution.drill_down import prefetch_region_counts
from schema.types.account import DashboardType, UserType
from schema.types.campaign import GuarantorSuggestionType
from schema.types.change_request import MineChangeRequestConnectionType
from schema.types.common import local_time
from schema.types.imports import ImportReportType
from schema.types.mine import MineConnectionType, MineNearbyType, MineType
from schema.types.mineral import MineralTypeType
from schema.types.options import FilterOptionsType
from schema.types.region import RegionType

def _authenticated(description: str):
    return strawberry.field(permission_classes=[IsAuthenticated], description=description)


@strawberry.type
class Query:
    @_authenticated("The logged-in account.")
    def me(self, info: Info) -> UserType:
        return UserType.of(info.context.user)

    @_authenticated("The home page: update time, the caller's region and its counts.")
    def dashboard(self) -> DashboardType:
        return DashboardType()

    @_authenticated("A region by 6-digit code; no code: the caller's own root region.")
    async def region(self, info: Info, code: str | None = None) -> RegionType | None:
        node = get_region(info.context, code)
        await prefetch_region_counts(info, node)
        return ScopedNode(node)

    @_authenticated("One mine, if it is inside the caller's jurisdiction.")
    async def mine(self, info: Info, id: strawberry.ID) -> MineType | None:
        return MineType.of(info, await get_mine(info.context, id))

    @_authenticated("Mines matching the filter, ordered by region code then mine code.")
    async def mines(
        self, info: Info, filter: MineFilterInput | None = None, first: int | None = 20, after: str | None = None
    ) -> MineConnectionType:
        ctx = info.context
        spec = parse_filter(filter, ctx.scope, ctx.trees)
        page = await mine_page(ctx, spec, first, after)
        return MineConnectionType.of(page, spec, root_region(ctx))

    @_authenticated("The mineral tree: no parent gives the top-level categories.")
    def mineral_types(self, info: Info, parent_code: str | None = None) -> list[MineralTypeType]:
        return [ScopedNode(node) for node in mineral_types(info.context, parent_code)]

    @_authenticated("Every enum value with its Chinese label, for filter forms.")
    def options(self) -> FilterOptionsType:
        return FilterOptionsType()

    @_authenticated("Located mines in the caller's jurisdiction within radiusKm of a point, nearest first.")
    async def mines_near(
        self, info: Info, lat: float, lng: float, datum: Datum, radius_km: float = 10.0, first: int = 20
    ) -> list[MineNearbyType]:
        found = await mines_near(info.context, lat, lng, datum, radius_km, first)
        return [MineNearbyType(mine=MineType.of(info, row), distance_km=round(km, 3)) for row, km in found]

    @_authenticated("Quick fill: people this account entered as guarantors of that level, most recent first.")
    async def guarantor_suggestions(self, info: Info, level: GuarantorLevel) -> list[GuarantorSuggestionType]:
        people = await suggestions(info.context, enums.GuarantorLevel(level))
        return [
            GuarantorSuggestionType(
                name=p["name"], position=p["position"], phone=p["phone"],
                last_used_at=local_time(info.context, p["last_used_at"]),
            )
            for p in people
        ]

    @_authenticated(
        "A signed download path for an export of the caller's scope (GET it on this service, no token "
        "needed), valid 10 minutes and only while this session lasts and the account keeps its scope. "
        "regionCode and filter narrow it as on mines; depth (stats only, 0-3, default 1) is the levels "
        "below the root."
    )
    def export_link(
        self, info: Info, kind: ExportKind, region_code: str | None = None, filter: MineFilterInput | None = None,
        depth: int | None = None,
    ) -> str:
        ctx = info.context
        if region_code is not None:
            get_region(ctx, region_code)  # NOT_FOUND outside the scope, before anything is signed
        parse_filter(filter, ctx.scope, ctx.trees)  # refused now rather than when the link is used
        stats = kind in (ExportKind.STATS_XLSX, ExportKind.STATS_CSV)
        if depth is not None and not (stats and 0 <= depth <= MAX_DEPTH):
            raise BadUserInput(f"层级数 depth 只用于统计导出，取 0 到 {MAX_DEPTH} / depth is for STATS_* only, "
                               f"from 0 to {MAX_DEPTH}")
        params = {} if kind is ExportKind.TEMPLATE else {"regionCode": region_code, "filter": filter_json(filter)}
        if depth is not None:
            params["depth"] = str(depth)
        return export_link(ctx.user, ctx.settings, kind.value, params)
    @_authenticated("Change requests of the mines in the caller's jurisdiction (an enterprise: its own), newest first.")
    async def mine_change_requests(
        self, info: Info, status: ChangeRequestStatus | None = None, first: int | None = 20, after: str | None = None,
    ) -> MineChangeRequestConnectionType:
        status = None if status is None else enums.ChangeRequestStatus(status)
        return MineChangeRequestConnectionType(page=await request_page(info.context, status, first, after))
    @_authenticated("Past imports of the caller's scope, newest first (dry runs included).")
    async def imports(self, info: Info, first: int | None = 20) -> list[ImportReportType]:
        rows = await import_reports.list_imports(info.context, 20 if first is None else first)
        return [ImportReportType.of(info, row) for row in rows]

    @_authenticated("One past import of the caller's scope, with its rows; null if unknown.")
    async def import_report(self, info: Info, id: strawberry.ID) -> ImportReportType | None:
        row = await import_reports.get_import(info.context, id)
        return None if row is None else ImportReportType.of(info, row)
