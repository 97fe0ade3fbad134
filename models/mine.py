"""The mine registry and its guarantors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel


# What the statistics read (and the common filters), led by the county they group by.
STATISTICS_COLUMNS = ("county_code", "category_code", "group_code", "mineral_code", "scale", "production_status",
                      "workers_per_shift", "max_depth", "verification_state",
                      "revoked_at")  # always null in this partial index, but SQLite needs it to cover

# Every statement over mines carries `revoked_at IS NULL` (auth/scope.py): the indexes that lists
# and counts read hold the live mines only, so that condition costs nothing and cannot steer a
# plan to another index (a revoked mine is rare; it is still found by id or code).
LIVE = text("revoked_at IS NULL")


def live_index(name: str, *columns: str) -> Index:
    return Index(name, *columns, sqlite_where=LIVE, postgresql_where=LIVE)


class Mine(SQLModel, table=True):
    __tablename__ = "mine"
    __table_args__ = (
        # Keyset pagination order (region code, mine code) within any scope.
        live_index("ix_mine_county_code_code", "county_code", "code"),
        # The same order within a province's or city's scope: its pages seek to the cursor and
        # its counts group by county without a sort (tests/api/test_query_plans.py).
        live_index("ix_mine_province_county_code", "province_code", "county_code", "code"),
        live_index("ix_mine_city_county_code", "city_code", "county_code", "code"),
        Index("ix_mine_mineral", "mineral_code"),
        # Covers the county-grained statistics (see the migration that adds it).
        live_index("ix_mine_statistics", *STATISTICS_COLUMNS),
        # The bounding-box prefilter of minesNear.
        Index("ix_mine_lat_lng", "lat", "lng"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str
    # Region ancestry, denormalised so that every level filters on one column.
    province_code: str = Field(foreign_key="region.code", max_length=6)
    city_code: str | None = Field(default=None, foreign_key="region.code", max_length=6)
    county_code: str = Field(foreign_key="region.code", max_length=6)
    # Mineral ancestry, denormalised likewise (leaf, group, category).
    mineral_code: str = Field(foreign_key="mineral_type.code", max_length=8)
    group_code: str = Field(max_length=8)
    category_code: str = Field(max_length=8)

    scale: str = Field(max_length=8)  # MineScale in effect
    # Set when a source states a scale other than the one the table derives.
    scale_override_note: str | None = None
    design_capacity: float
    capacity_unit: str
    development_method: str = Field(max_length=16)
    development_detail: str | None = None
    max_depth: float
    workers_per_shift: int
    production_status: str = Field(max_length=16)
    supervisory_body: str = Field(max_length=8)
    principal_name: str | None = None
    principal_phone: str | None = None

    # Location: canonical WGS-84 plus the datum the client sent.
    lat: float | None = None
    lng: float | None = None
    source_datum: str | None = Field(default=None, max_length=8)
    inside_county: bool | None = None
    location_updated_at: datetime | None = None

    updated_at: datetime
    version: int = 1

    # 核实: VerificationState. VERIFIED marks the basic data as of verified_at; a later change
    # of a basic field (not location or guarantors) turns it STALE.
    verification_state: str = Field(default="UNVERIFIED", max_length=12,
                                    sa_column_kwargs={"server_default": "UNVERIFIED"})
    verified_at: datetime | None = None
    verified_by: str | None = Field(default=None, max_length=32)
    verification_note: str | None = None

    # 作废: a record created by mistake. A revoked mine leaves every list and count (the
    # jurisdiction predicate excludes it, the tally triggers skip it); its audit trail stays.
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


class Guarantor(SQLModel, table=True):
    """包保责任人: one per mine and level."""

    __tablename__ = "guarantor"
    # Quick fill: the people one account entered at one level, most recent first.
    __table_args__ = (Index("ix_guarantor_entered_by", "entered_by", "level", "updated_at"),)

    mine_id: int = Field(foreign_key="mine.id", primary_key=True)
    level: str = Field(primary_key=True, max_length=12)  # GuarantorLevel
    name: str
    position: str
    phone: str
    updated_at: datetime
    entered_by: int | None = Field(default=None, foreign_key="account.id")
