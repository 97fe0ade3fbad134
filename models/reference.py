"""Reference tables: the administrative region tree and the mineral tree.

Both are static after seeding; the service loads them once into memory
(see resolvers/trees.py). Every row carries its own ancestry so the same
jurisdiction predicate that scopes mines can scope regions.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Region(SQLModel, table=True):
    __tablename__ = "region"

    code: str = Field(primary_key=True, max_length=6)
    name: str
    level: str = Field(max_length=8)  # RegionLevel
    parent_code: str | None = Field(default=None, foreign_key="region.code", index=True)
    # Ancestry, including the row itself at its own level.
    province_code: str | None = Field(default=None, max_length=6)
    city_code: str | None = Field(default=None, max_length=6)
    county_code: str | None = Field(default=None, max_length=6)


class MineralType(SQLModel, table=True):
    __tablename__ = "mineral_type"

    code: str = Field(primary_key=True, max_length=8)
    name: str
    level: int  # 1 category, 2 group, 3 mineral (leaf)
    parent_code: str | None = Field(default=None, foreign_key="mineral_type.code")
    sort_order: int = 0
    # Scale table row that applies to this leaf (see seed/data/scale_table.json).
    scale_row: str | None = None
