"""Grouped statistics: one SQL statement per batch of nodes, rolled up in memory.

A batch (all regions, or all mineral types, whose `stats` one request asks
for at the same depth, under one filter) becomes a single GROUP BY at the
finest grain among them; each row is then added to every requested node it
lies under (its own grain node and the ancestors the batch asked for).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, or_, select

from auth.scope import jurisdiction
from models.mine import Mine
from resolvers.filters import filter_clauses

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.sql.elements import ColumnElement

    from auth.scope import Scope
    from models.trees import MineralNode, RegionNode, Trees
    from resolvers.filters import FilterSpec
    from settings import Settings


@dataclass
class Counts:
    total: int = 0
    large: int = 0
    medium: int = 0
    small: int = 0
    over30_workers: int = 0
    over800m_depth: int = 0
    by_category: dict[str, int] = field(default_factory=dict)

    def add(self, category: str, total: int, large: int, medium: int, small: int, over30: int, over800: int) -> None:
        self.total += total
        self.large += large
        self.medium += medium
        self.small += small
        self.over30_workers += over30
        self.over800m_depth += over800
        self.by_category[category] = self.by_category.get(category, 0) + total


def _measures(settings: Settings) -> list[ColumnElement]:
    def count_if(condition) -> ColumnElement:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return [
        func.count(),
        count_if(Mine.scale == "LARGE"),
        count_if(Mine.scale == "MEDIUM"),
        count_if(Mine.scale == "SMALL"),
        count_if(Mine.workers_per_shift > settings.workers_threshold),
        count_if(Mine.max_depth > settings.depth_threshold_m),
    ]


def _subtree_restriction(nodes: Sequence[RegionNode | MineralNode]) -> ColumnElement[bool] | None:
    """Only rows under some requested node (None: a root node covers all)."""
    by_column: dict[str, set[str]] = {}
    for node in nodes:
        if node.column is None:
            return None
        by_column.setdefault(node.column, set()).add(node.code)
    return or_(*(getattr(Mine, col).in_(sorted(codes)) for col, codes in by_column.items()))


async def _grouped(
    engine: AsyncEngine, scope: Scope | None, spec: FilterSpec, trees: Trees, settings: Settings,
    grain: str | None, restriction: ColumnElement[bool] | None,
):
    keys = [getattr(Mine, grain)] if grain else []
    conditions = [jurisdiction(scope), *filter_clauses(spec, trees, settings.workers_threshold, settings.depth_threshold_m)]
    if restriction is not None:
        conditions.append(restriction)
    statement = (
        select(*keys, Mine.category_code, *_measures(settings))
        .where(and_(*conditions))
        .group_by(*keys, Mine.category_code)
    )
    async with engine.connect() as conn:
        return (await conn.execute(statement)).all()


# Region grain: the finest level asked for decides the GROUP BY column.
_REGION_GRAIN = {0: None, 1: "province_code", 2: "city_code", 3: "county_code"}


async def region_counts(
    engine: AsyncEngine, scope: Scope | None, spec: FilterSpec, trees: Trees, settings: Settings,
    nodes: Sequence[RegionNode],
) -> list[Counts]:
    # A level mixing cities with province-administered counties groups by county.
    grain = _REGION_GRAIN[max(node.level.depth for node in nodes)]
    rows = await _grouped(engine, scope, spec, trees, settings, grain, _subtree_restriction(nodes))
    wanted = {node.code: Counts() for node in nodes}
    for grain_code, category, *measures in (r if grain else (None, *r) for r in rows):
        start = trees.regions[grain_code] if grain_code else trees.nation
        for ancestor in trees.region_ancestors(start):
            counts = wanted.get(ancestor.code)
            if counts is not None:
                counts.add(category, *measures)
    return [wanted[node.code] for node in nodes]


_MINERAL_GRAIN = {1: "category_code", 2: "group_code", 3: "mineral_code"}


async def mineral_counts(
    engine: AsyncEngine, scope: Scope | None, spec: FilterSpec, trees: Trees, settings: Settings,
    nodes: Sequence[MineralNode],
) -> list[Counts]:
    grain = _MINERAL_GRAIN[max(node.level for node in nodes)]
    rows = await _grouped(engine, scope, spec, trees, settings, grain, _subtree_restriction(nodes))
    wanted = {node.code: Counts() for node in nodes}
    for grain_code, category, *measures in rows:
        for ancestor in trees.mineral_ancestors(trees.minerals[grain_code]):
            counts = wanted.get(ancestor.code)
            if counts is not None:
                counts.add(category, *measures)
    return [wanted[node.code] for node in nodes]
