"""The 2022 campaign: completeness counts, change history, guarantor quick fill.

Completeness's source is the node's resolvers/stats.Counts (each count an attribute of its name)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON


@strawberry.type(name="Completeness", description="Progress of the campaign: locations by 30 April, guarantors by 31 May.")
class CompletenessType:
    total: int
    with_location: int
    city_level_applicable: int = strawberry.field(
        description="Mines that have a CITY guarantor level (not under a province directly)."
    )
    with_province_guarantor: int
    with_city_guarantor: int
    with_county_guarantor: int
    with_enterprise_guarantor: int
    with_all_guarantors: int = strawberry.field(description="Every guarantor level that applies to the mine is filled.")
    complete: int = strawberry.field(description="Location and every applicable guarantor level filled.")


LOCATION_VALUE = (
    "The value before / after the change (null: none). A location is "
    '{"wgs84": {"lat", "lng"}, "gcj02": {"lat", "lng"}, "sourceDatum", "insideCounty"}, as Mine.location shows it; '
    "in a newValue the sourceDatum pair holds the numbers exactly as sent. A guarantor is {name, position, phone}. "
    "A MineInput field's value is as Mine shows it (enum names, numbers; principal {name, phone})."
)


@strawberry.type(name="MineChange", description="One audited change to a mine.")
class MineChangeType:
    at: datetime
    username: str | None
    field: str = strawberry.field(description="location, guarantor.<LEVEL>, a MineInput field name (name, "
                                              "workersPerShift, principal, scale …), mine (created), revoked, "
                                              "verification or changeRequest")
    old_value: JSON | None = strawberry.field(description=LOCATION_VALUE)
    new_value: JSON | None = strawberry.field(description=LOCATION_VALUE)
    import_id: strawberry.ID | None = strawberry.field(
        default=None, description="The spreadsheet import that made this change; null otherwise.")


@strawberry.type(name="GuarantorSuggestion")
class GuarantorSuggestionType:
    name: str
    position: str
    phone: str
    last_used_at: datetime

