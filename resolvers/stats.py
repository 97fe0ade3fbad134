"""Grouped statistics: one SQL statement per batch of nodes, rolled up in memory.

A batch (all regions, or all mineral types, whose statistic one request asks
for at the same depth, under one filter) becomes a single GROUP BY at the
finest grain among them; each row is then added to every requested node it
lies under (its own grain node and the ancestors the batch asked for).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, exists, func, or_, select

from auth.scope import jurisdiction
from models.enums import GuarantorLevel
from models.mine import Guarantor, Mine
from resolvers.filters import filter_clauses

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.sql.elements import ColumnElement

    from auth.scope import Scope
    from models.trees import MineralNode, RegionNode, Trees
    from resolvers.filters import FilterSpec
    from settings import Settings

Measures = Callable[["Settings"], list[tuple[str, "ColumnElement"]]]


@dataclass
class Counts:
    """Named sums for one node, plus its mine count per top-level category."""

    values: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)

    def add(self, category: str, names: list[str], numbers) -> None:
        for name, number in zip(names, numbers, strict=True):
            self.values[name] = self.values.get(name, 0) + number
        self.by_category[category] = self.by_category.get(category, 0) + numbers[0]

    def __getitem__(self, name: str) -> int:
        return self.values.get(name, 0)


def _count_if(condition) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def has_guarantor(level: GuarantorLevel) -> ColumnElement[bool]:
    return exists().where(Guarantor.mine_id == Mine.id, Guarantor.level == level.value)


def mine_stats(settings: Settings) -> list[tuple[str, ColumnElement]]:
    """MineStats: the home page's counts. The first measure is always the total."""
    return [
        ("total", func.count()),
        ("large", _count_if(Mine.scale == "LARGE")),
        ("medium", _count_if(Mine.scale == "MEDIUM")),
        ("small", _count_if(Mine.scale == "SMALL")),
        ("over30_workers", _count_if(Mine.workers_per_shift > settings.workers_threshold)),
        ("over800m_depth", _count_if(Mine.max_depth > settings.depth_threshold_m)),
    ]


def completeness(settings: Settings) -> list[tuple[str, ColumnElement]]:
    """The 2022 campaign's progress: locations and the four guarantor levels."""
    levels = {level: has_guarantor(level) for level in GuarantorLevel}
    # A county under the province directly has no CITY level: it cannot lack one.
    city_done = or_(Mine.city_code.is_(None), levels[GuarantorLevel.CITY])
    all_levels = and_(levels[GuarantorLevel.PROVINCE], city_done, levels[GuarantorLevel.COUNTY],
                      levels[GuarantorLevel.ENTERPRISE])
    located = Mine.lat.is_not(None)
    return [
        ("total", func.count()),
        ("with_location", _count_if(located)),
        ("city_level_applicable", _count_if(Mine.city_code.is_not(None))),
        *((f"with_{level.value.lower()}_guarantor", _count_if(levels[level])) for level in GuarantorLevel),
        ("with_all_guarantors", _count_if(all_levels)),
        ("complete", _count_if(and_(located, all_levels))),
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
    measures: Measures, grain: str | None, nodes: Sequence,
) -> tuple[list[str], list]:
    named = measures(settings)
    keys = [getattr(Mine, grain)] if grain else []
    conditions = [jurisdiction(scope), *filter_clauses(spec, trees, settings)]
    restriction = _subtree_restriction(nodes)
    if restriction is not None:
        conditions.append(restriction)
    statement = (
        select(*keys, Mine.category_code, *(expr for _, expr in named))
        .where(and_(*conditions))
        .group_by(*keys, Mine.category_code)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    return [name for name, _ in named], rows


# Region grain: the finest level asked for decides the GROUP BY column; a level
# mixing cities with province-administered counties groups by county.
_REGION_GRAIN = {0: None, 1: "province_code", 2: "city_code", 3: "county_code"}
_MINERAL_GRAIN = {1: "category_code", 2: "group_code", 3: "mineral_code"}


async def region_counts(
    engine: AsyncEngine, scope: Scope | None, spec: FilterSpec, trees: Trees, settings: Settings,
    measures: Measures, nodes: Sequence[RegionNode],
) -> list[Counts]:
    grain = _REGION_GRAIN[max(node.level.depth for node in nodes)]
    names, rows = await _grouped(engine, scope, spec, trees, settings, measures, grain, nodes)
    wanted = {node.code: Counts() for node in nodes}
    for grain_code, category, *numbers in (r if grain else (None, *r) for r in rows):
        start = trees.regions[grain_code] if grain_code else trees.nation
        for ancestor in trees.region_ancestors(start):
            if (counts := wanted.get(ancestor.code)) is not None:
                counts.add(category, names, numbers)
    return [wanted[node.code] for node in nodes]


async def mineral_counts(
    engine: AsyncEngine, scope: Scope | None, spec: FilterSpec, trees: Trees, settings: Settings,
    measures: Measures, nodes: Sequence[MineralNode],
) -> list[Counts]:
    grain = _MINERAL_GRAIN[max(node.level for node in nodes)]
    names, rows = await _grouped(engine, scope, spec, trees, settings, measures, grain, nodes)
    wanted = {node.code: Counts() for node in nodes}
    for grain_code, category, *numbers in rows:
        for ancestor in trees.mineral_ancestors(trees.minerals[grain_code]):
            if (counts := wanted.get(ancestor.code)) is not None:
                counts.add(category, names, numbers)
    return [wanted[node.code] for node in nodes]
