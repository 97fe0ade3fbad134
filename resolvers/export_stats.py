"""The statistics export: the drill-down as a table, one row per region.

The numbers come from the API's own functions (resolvers/stats.region_rollup with the
`mine_stats`, `completeness` and `verification` measures): the same statements, the same tally, the same
jurisdiction; this module only lays them out. No second way of counting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.enums import UserTier
from models.errors import BadUserInput
from resolvers.stats import Counts, completeness, mine_stats, region_rollup, verification

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from auth.scope import Scope
    from models.trees import RegionNode, Trees
    from resolvers.filters import FilterSpec
    from settings import Settings

DEFAULT_DEPTH = 1  # the root and its children: one screen of the drill-down
MAX_DEPTH = 3  # nation → province → city → county
_REGION = ("行政区划代码", "行政区划名称", "级别")
# (header, Counts name) of MineStats, then of Completeness, as the API names them.
_STATS = (("矿山总数", "total"), ("大型", "large"), ("中型", "medium"), ("小型", "small"),
          ("单班下井超30人", "over30_workers"), ("开采深度超800米", "over800m_depth"))
_COMPLETENESS = (("已定位", "with_location"), ("适用市级包保", "city_level_applicable"),
                 ("已填省级包保", "with_province_guarantor"), ("已填市级包保", "with_city_guarantor"),
                 ("已填县级包保", "with_county_guarantor"), ("已填企业包保", "with_enterprise_guarantor"),
                 ("包保齐全", "with_all_guarantors"), ("信息完整", "complete"))
# VerificationStats: the province's 31 March report (核实情况) is this export with these columns.
_VERIFICATION = (("已核实", "verified"), ("核实后已变更", "stale"), ("未核实", "unverified"))


def parse_depth(raw: str | None) -> int:
    """The `depth` parameter: levels below the root (0: the root only)."""
    if raw is None or raw == "":
        return DEFAULT_DEPTH
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_DEPTH:
        raise BadUserInput(f"层级数 depth 必须是 0 到 {MAX_DEPTH} 的整数 / depth must be a whole number from 0 to {MAX_DEPTH}")
    return int(raw)


def stats_header(trees: Trees) -> list[str]:
    return [*_REGION, *(h for h, _ in _STATS), *(node.name for node in trees.categories),
            *(h for h, _ in _COMPLETENESS), *(h for h, _ in _VERIFICATION)]


def listed_regions(scope: Scope, root: RegionNode, depth: int) -> list[RegionNode]:
    """The root and the regions `depth` levels below it that the caller sees (as Region.children
    lists them), parents before their children, each level in code order."""
    found = [root]
    if depth > 0 and scope.tier is not UserTier.ENTERPRISE:  # an enterprise sees its county only
        for child in root.children:
            if scope.covers(child):
                found += listed_regions(scope, child, depth - 1)
    return found


async def stats_rows(
    engine: AsyncEngine, scope: Scope, spec: FilterSpec, trees: Trees, settings: Settings,
    root: RegionNode, depth: int,
) -> list[list]:
    """One row per listed region: code, name, level, MineStats, the categories, Completeness,
    VerificationStats."""
    counts = [await region_rollup(engine, scope, spec, trees, settings, measures, root)
              for measures in (mine_stats, completeness, verification)]
    rows = []
    for node in listed_regions(scope, root, depth):
        counted, done, checked = (found.get(node.code) or Counts() for found in counts)
        by_category = counted.per_category
        rows.append([
            node.code, node.name, node.level.label,
            *(counted[name] for _, name in _STATS),
            *(by_category.get(category.code, 0) for category in trees.categories),
            *(done[name] for _, name in _COMPLETENESS),
            *(checked[name] for _, name in _VERIFICATION),
        ])
    return rows
