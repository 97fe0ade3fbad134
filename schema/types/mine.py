"""Mine and the connection that pages through mines."""

from __future__ import annotations

import json
from datetime import datetime

import strawberry
from strawberry.types import Info

from models import enums, geo
from models.errors import BadUserInput
from models.trees import RegionNode
from execution.field_functions import resolve
from resolvers import statistics
from resolvers.filters import FilterSpec
from resolvers.location_history import presented
from resolvers.mines import MinePage, has_previous_page
from schema.enums import Datum, DevelopmentMethod, GuarantorLevel, MineScale, ProductionStatus, SupervisoryBody
from schema.types.campaign import MineChangeType
from schema.types.common import local_time
from schema.types.mineral import MineralTypeType
from schema.types.region import RegionType
from schema.types.verification import ScaleOverrideType, VerificationType


@strawberry.type(name="Contact")
class ContactType:
    name: str
    phone: str


@strawberry.type(name="LatLng")
class LatLngType:
    lat: float
    lng: float


@strawberry.type(name="Location")
class LocationType:
    wgs84: LatLngType
    gcj02: LatLngType
    source_datum: Datum
    inside_county: bool | None = strawberry.field(
        description="Whether the point lies in the registered county (with tolerance); null: not checked."
    )
    updated_at: datetime


@strawberry.type(name="Guarantor", description="包保责任人")
class GuarantorType:
    level: GuarantorLevel
    name: str
    position: str
    phone: str
    updated_at: datetime


def _location(info: Info, row) -> LocationType | None:
    if row.lat is None or row.lng is None:
        return None
    gcj_lat, gcj_lng = geo.to_gcj02(row.lat, row.lng)
    return LocationType(
        wgs84=LatLngType(lat=row.lat, lng=row.lng),
        gcj02=LatLngType(lat=gcj_lat, lng=gcj_lng),
        source_datum=enums.Datum(row.source_datum or "WGS84"),
        inside_county=row.inside_county,
        updated_at=local_time(info.context, row.location_updated_at or row.updated_at),
    )


@strawberry.type(name="Mine")
class MineType:
    id: strawberry.ID
    code: str
    name: str
    scale: MineScale
    design_capacity: float
    capacity_unit: str
    development_method: DevelopmentMethod
    development_detail: str | None = strawberry.field(description="The combination for COMBINED, e.g. 竖井-斜坡道.")
    max_depth: float = strawberry.field(description="Maximum mining depth, metres.")
    workers_per_shift: int
    production_status: ProductionStatus
    supervisory_body: SupervisoryBody
    principal: ContactType | None
    updated_at: datetime
    version: int
    row: strawberry.Private[object]
    # Set only on createMine's own answer (resolvers/mine_admin.create_mine); never stored in clear.
    password: strawberry.Private[str | None] = None

    @classmethod
    def of(cls, info: Info, row, password: str | None = None) -> MineType:
        principal = None
        if row.principal_name and row.principal_phone:
            principal = ContactType(name=row.principal_name, phone=row.principal_phone)
        return cls(
            id=strawberry.ID(str(row.id)),
            code=row.code,
            name=row.name,
            scale=enums.MineScale(row.scale),
            design_capacity=row.design_capacity,
            capacity_unit=row.capacity_unit,
            development_method=enums.DevelopmentMethod(row.development_method),
            development_detail=row.development_detail,
            max_depth=row.max_depth,
            workers_per_shift=row.workers_per_shift,
            production_status=enums.ProductionStatus(row.production_status),
            supervisory_body=enums.SupervisoryBody(row.supervisory_body),
            principal=principal,
            updated_at=local_time(info.context, row.updated_at),
            version=row.version,
            row=row,
            password=password,
        )

    @strawberry.field(description="The new mine's enterprise account (username = code) password: only in "
                                  "createMine's answer, once; null everywhere else.")
    def initial_password(self) -> str | None:
        return self.password

    @strawberry.field(description="核实 of the basic data as it is now.")
    def verification(self, info: Info) -> VerificationType:
        row = self.row
        return VerificationType(
            verified_at=None if row.verified_at is None else local_time(info.context, row.verified_at),
            verified_by=row.verified_by, note=row.verification_note,
            current=row.verification_state == enums.VerificationState.VERIFIED.value,
        )

    @strawberry.field(description="The scale stated instead of the derived one, with why; null: derived "
                                  "from the scale table.")
    def scale_override(self) -> ScaleOverrideType | None:
        if self.row.scale_override_note is None:
            return None
        return ScaleOverrideType(scale=enums.MineScale(self.row.scale), note=self.row.scale_override_note)

    @strawberry.field(description="The county-level region the mine is registered in.")
    def region(self, info: Info) -> RegionType:
        return statistics.ScopedNode(info.context.trees.regions[self.row.county_code])

    @strawberry.field(description="A leaf of the mineral tree.")
    def mineral(self, info: Info) -> MineralTypeType:
        return statistics.ScopedNode(info.context.trees.minerals[self.row.mineral_code])

    @strawberry.field
    def location(self, info: Info) -> LocationType | None:
        return _location(info, self.row)

    @strawberry.field(description="Filled guarantor levels, in the order province, city, county, enterprise.")
    async def guarantors(self, info: Info) -> list[GuarantorType]:
        rows = await info.context.loaders.guarantors.load(self.row.id)
        order = list(enums.GuarantorLevel)
        return [
            GuarantorType(
                level=enums.GuarantorLevel(g.level),
                name=g.name,
                position=g.position,
                phone=g.phone,
                updated_at=local_time(info.context, g.updated_at),
            )
            for g in sorted(rows, key=lambda g: order.index(enums.GuarantorLevel(g.level)))
        ]

    @strawberry.field(description="Changes to this mine (basic data, location, guarantors, verification), "
                                  "newest first.")
    async def history(self, info: Info, first: int | None = 20) -> list[MineChangeType]:
        if first is None or not 0 <= first <= 100:
            raise BadUserInput(f"变更记录条数 first 必须在 0 到 100 之间（当前为 {first}） / "
                                f"first must be between 0 and 100 (got {first})")
        rows = await info.context.loaders.history.load(self.row.id)
        return [_change(info, row) for row in rows[:first]]


def _change(info: Info, row) -> MineChangeType:
    return MineChangeType(
        at=local_time(info.context, row.at),
        username=row.username,
        field=row.field,
        old_value=None if row.old_value is None else presented(row.field, json.loads(row.old_value)),
        new_value=None if row.new_value is None else presented(row.field, json.loads(row.new_value)),
        import_id=None if row.import_id is None else strawberry.ID(str(row.import_id)),
    )


@strawberry.type(name="MineNearby")
class MineNearbyType:
    mine: MineType
    distance_km: float


@strawberry.type(name="MineEdge")
class MineEdgeType:
    cursor: str
    node: MineType


@strawberry.type(name="PageInfo", description="Relay's page information (forward pagination: first/after).")
class PageInfoType:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="The last edge's cursor; null on an empty page.")
    start_cursor: str | None = strawberry.field(description="The first edge's cursor; null on an empty page.")
    page: strawberry.Private[MinePage]

    @strawberry.field(description="True when the page was asked for `after` a cursor and mines of the list lie "
                                  "before it; false on a first page.")
    async def has_previous_page(self, info: Info) -> bool:
        return await has_previous_page(info.context, self.page)


@strawberry.type(name="MineConnection")
class MineConnectionType:
    page: strawberry.Private[MinePage]
    spec: strawberry.Private[FilterSpec]
    anchor: strawberry.Private[RegionNode]

    @classmethod
    def of(cls, page: MinePage, spec: FilterSpec, anchor: RegionNode) -> MineConnectionType:
        return cls(page=page, spec=spec, anchor=anchor)

    @strawberry.field(description="Every match, regardless of first/after.")
    def total_count(self, info: Info) -> int:
        return resolve(statistics.total_count, self, info)

    @strawberry.field
    def edges(self, info: Info) -> list[MineEdgeType]:
        return [
            MineEdgeType(cursor=cursor, node=MineType.of(info, row))
            for cursor, row in zip(self.page.cursors, self.page.rows, strict=True)
        ]

    @strawberry.field
    def page_info(self) -> PageInfoType:
        cursors = self.page.cursors
        return PageInfoType(has_next_page=self.page.has_next_page, end_cursor=cursors[-1] if cursors else None,
                            start_cursor=cursors[0] if cursors else None, page=self.page)
