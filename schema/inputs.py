"""Input types."""

from __future__ import annotations

import dataclasses
from enum import Enum

import orjson
import strawberry
from strawberry.utils.str_converters import to_camel_case

from schema.enums import (
    DevelopmentMethod, GuarantorLevel, MineScale, ProductionStatus, SupervisoryBody, VerificationState,
)


@strawberry.input(name="MineFilter", description="All given conditions are AND-ed; list values are OR-ed.")
class MineFilterInput:
    region_code: str | None = strawberry.field(default=None, description="Only mines inside this region (6-digit code).")
    name_contains: str | None = strawberry.field(default=None, description="Substring of the mine's name.")
    mineral_codes: list[str] | None = strawberry.field(
        default=None, description="A code at any level of the mineral tree matches its whole subtree."
    )
    scales: list[MineScale] | None = None
    design_capacity_min: float | None = strawberry.field(default=None, description="Inclusive, in the mine's own capacityUnit.")
    design_capacity_max: float | None = None
    depth_min: float | None = strawberry.field(default=None, description="Maximum mining depth, metres, inclusive.")
    depth_max: float | None = None
    workers_per_shift_min: int | None = None
    workers_per_shift_max: int | None = None
    over30_workers: bool | None = strawberry.field(
        default=None, description="true: workers per shift above the threshold; false: at or below; null: ignored."
    )
    over800m_depth: bool | None = strawberry.field(
        default=None, description="true: maximum depth above the threshold; false: at or below; null: ignored."
    )
    production_statuses: list[ProductionStatus] | None = None
    development_methods: list[DevelopmentMethod] | None = None
    supervisory_bodies: list[SupervisoryBody] | None = None
    missing_location: bool | None = strawberry.field(
        default=None, description="true: mines without a location; false: mines with one; null: ignored."
    )
    missing_guarantor_level: GuarantorLevel | None = strawberry.field(
        default=None,
        description="Mines still lacking a guarantor of this level (CITY: only mines that have a city level).",
    )
    verification: list[VerificationState] | None = strawberry.field(
        default=None, description="核实 states; not answered from the mine tally (counted from the mines)."
    )


@strawberry.input(name="GuarantorInput")
class GuarantorInputType:
    name: str
    position: str = strawberry.field(description="e.g. 副县长")
    phone: str = strawberry.field(description="A mainland mobile number or a landline with area code.")


@strawberry.input(name="ProfileInput", description="Omitted fields stay as they are; an empty phone or email clears it.")
class ProfileInputType:
    name: str | None = None
    phone: str | None = None
    email: str | None = None


def filter_json(value: MineFilterInput | None) -> str | None:
    """A MineFilter as JSON with its GraphQL field and enum names (what /export/* reads back in
    its `filter` parameter); fields left out or null are omitted. None for no filter."""
    if value is None:
        return None
    given = {}
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        if item is None:
            continue
        if isinstance(item, list):
            item = [i.value if isinstance(i, Enum) else i for i in item]
        elif isinstance(item, Enum):
            item = item.value
        given[to_camel_case(field.name)] = item
    return orjson.dumps(given).decode()
@strawberry.input(name="ContactInput")
class ContactInputType:
    name: str
    phone: str = strawberry.field(description="A mainland mobile number or a landline with area code.")


@strawberry.input(name="MineInput", description="A mine's basic data. A field left out stays as it is; createMine "
                                                "needs every field but developmentDetail, principal, scale, scaleNote.")
class MineInputType:
    name: str | None = strawberry.UNSET
    region_code: str | None = strawberry.field(default=strawberry.UNSET, description="A county-level region code.")
    mineral_code: str | None = strawberry.field(default=strawberry.UNSET, description="A leaf of the mineral tree.")
    design_capacity: float | None = strawberry.field(default=strawberry.UNSET, description="Greater than 0.")
    capacity_unit: str | None = strawberry.UNSET
    development_method: DevelopmentMethod | None = strawberry.UNSET
    development_detail: str | None = strawberry.field(
        default=strawberry.UNSET, description="Only for COMBINED (e.g. 竖井-斜坡道); cleared when the method is another.")
    max_depth: float | None = strawberry.field(default=strawberry.UNSET, description="Metres, 0 or more.")
    workers_per_shift: int | None = strawberry.field(default=strawberry.UNSET, description="0 or more.")
    production_status: ProductionStatus | None = strawberry.UNSET
    supervisory_body: SupervisoryBody | None = strawberry.UNSET
    principal: ContactInputType | None = strawberry.field(default=strawberry.UNSET, description="null clears it.")
    scale: MineScale | None = strawberry.field(
        default=strawberry.UNSET,
        description="Overrides the scale the table derives (needs scaleNote); null: derived again from the table.")
    scale_note: str | None = strawberry.field(default=strawberry.UNSET, description="Why the scale is overridden.")


def mine_input_values(given: MineInputType) -> dict:
    """The input as the core (resolvers/mine_edits.py) takes it: GraphQL names, enum names, only what
    was sent (null included)."""
    values = {}
    for f in given.__strawberry_definition__.fields:
        value = getattr(given, f.python_name)
        if value is strawberry.UNSET:
            continue
        if isinstance(value, ContactInputType):
            value = {"name": value.name, "phone": value.phone}
        values[f.graphql_name or _camel(f.python_name)] = getattr(value, "value", value)
    return values


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
