"""In-memory copies of the static reference trees (regions and minerals).

They are loaded once per process after seeding; resolvers walk them without
SQL, so a drill-down spends its statements on counting mines only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from models.enums import RegionLevel
from models.reference import MineralType, Region

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

NATION_CODE = "000000"


@dataclass(eq=False)
class RegionNode:
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    province_code: str | None
    city_code: str | None
    county_code: str | None
    children: list[RegionNode] = field(default_factory=list)

    @property
    def column(self) -> str | None:
        """The mine column that selects this region's mines (None: the nation)."""
        return _LEVEL_COLUMN[self.level]


_LEVEL_COLUMN = {
    RegionLevel.NATION: None,
    RegionLevel.PROVINCE: "province_code",
    RegionLevel.CITY: "city_code",
    RegionLevel.COUNTY: "county_code",
}


@dataclass(eq=False)
class MineralNode:
    code: str
    name: str
    level: int  # 1 category, 2 group, 3 mineral
    parent_code: str | None
    sort_order: int
    scale_row: str | None
    children: list[MineralNode] = field(default_factory=list)

    @property
    def column(self) -> str:
        """The mine column that selects this node's mines."""
        return _MINERAL_COLUMN[self.level]


_MINERAL_COLUMN = {1: "category_code", 2: "group_code", 3: "mineral_code"}


@dataclass
class Trees:
    regions: dict[str, RegionNode]
    minerals: dict[str, MineralNode]
    categories: list[MineralNode]  # the top level, in display order

    @property
    def nation(self) -> RegionNode:
        return self.regions[NATION_CODE]

    def region_ancestors(self, node: RegionNode) -> tuple[RegionNode, ...]:
        """The node itself and every ancestor up to the nation."""
        return _chain(node, self.regions)

    def mineral_ancestors(self, node: MineralNode) -> tuple[MineralNode, ...]:
        return _chain(node, self.minerals)


def _chain(node, nodes: dict) -> tuple:
    # Trees are static, so each node keeps its chain once computed (rollups walk
    # it for every counted row).
    chain = node.__dict__.get("_ancestors")
    if chain is None:
        links = [node]
        while links[-1].parent_code is not None:
            links.append(nodes[links[-1].parent_code])
        chain = node.__dict__["_ancestors"] = tuple(links)
    return chain


def build_trees(region_rows, mineral_rows) -> Trees:
    regions = {
        r.code: RegionNode(
            r.code, r.name, RegionLevel(r.level), r.parent_code,
            r.province_code, r.city_code, r.county_code,
        )
        for r in region_rows
    }
    for node in sorted(regions.values(), key=lambda n: n.code):
        if node.parent_code is not None:
            regions[node.parent_code].children.append(node)
    minerals = {
        m.code: MineralNode(m.code, m.name, m.level, m.parent_code, m.sort_order, m.scale_row)
        for m in mineral_rows
    }
    ordered = sorted(minerals.values(), key=lambda n: (n.sort_order, n.code))
    for node in ordered:
        if node.parent_code is not None:
            minerals[node.parent_code].children.append(node)
    categories = [n for n in ordered if n.level == 1]
    return Trees(regions, minerals, categories)


async def load_trees(engine: AsyncEngine) -> Trees:
    async with engine.connect() as conn:
        regions = (await conn.execute(select(Region))).all()
        minerals = (await conn.execute(select(MineralType))).all()
    return build_trees(regions, minerals)
