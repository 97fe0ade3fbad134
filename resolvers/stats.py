"""Grouped statistics: one SQL statement per subtree, rolled up in memory.

A batch of regions (all those whose statistic one request asks for before it
waits, under one filter) becomes a single GROUP BY county over the batch's
common subtree; the rows are added up the tree in memory, and every later node
of that subtree is answered from the result without another statement. The
mineral tree is small: one GROUP BY leaf answers all of it. Category counts
are measures of their own (not a grouping key), so rows stay one per county.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from operator import add, itemgetter
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, exists, func, or_, select

from auth.scope import jurisdiction
from models.enums import GuarantorLevel, UserTier
from models.mine import Guarantor, Mine
from models.tally import ALL_STATUSES, DEPTH_THRESHOLD_M, WORKERS_THRESHOLD, MineTally
from resolvers.filters import filter_clauses, tally_filters

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.sql.elements import ColumnElement

    from auth.scope import Scope
    from models.trees import MineralNode, RegionNode, Trees
    from resolvers.filters import FilterSpec
    from settings import Settings

Measures = Callable[["Settings"], list[tuple[str, "ColumnElement"]]]
CATEGORY = "category:"


@lru_cache
def _index(names: tuple[str, ...]) -> dict[str, int]:
    return {name: i for i, name in enumerate(names)}


class Counts:
    """Named sums for one node; `category:<code>` names hold the per-category totals.

    It is the source of the GraphQL type that shows it (MineStats, Completeness, VerificationStats):
    each count that type declares is an attribute of the same Python name (added below), so the
    type only declares its fields and nothing copies the counts into it."""

    __slots__ = ("names", "numbers")

    def __init__(self, names: tuple[str, ...] = (), numbers: list[int] | None = None) -> None:
        self.names = names
        self.numbers = numbers if numbers is not None else [0] * len(names)

    def __getitem__(self, name: str) -> int:
        i = _index(self.names).get(name)
        return 0 if i is None else self.numbers[i]

    @property
    def per_category(self) -> dict[str, int]:
        return {n[len(CATEGORY):]: v for n, v in zip(self.names, self.numbers) if n.startswith(CATEGORY)}


# The measures' names below, as attributes: explicit properties rather than a `__getattr__`, which
# would also answer the names graphql-core and the executors probe for (`__await__`, `scoping`).
# A name the counts lack (the empty Counts of a node without mines) reads 0, as `counts[name]`.
for _name in ("total", "large", "medium", "small", "over30_workers", "over800m_depth",  # MineStats
              "with_location", "city_level_applicable", "with_province_guarantor", "with_city_guarantor",
              "with_county_guarantor", "with_enterprise_guarantor", "with_all_guarantors", "complete",
              "verified", "stale", "unverified"):  # Completeness, then VerificationStats
    setattr(Counts, _name, property(itemgetter(_name)))
del _name


def _count_if(condition) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def has_guarantor(level: GuarantorLevel) -> ColumnElement[bool]:
    return exists().where(Guarantor.mine_id == Mine.id, Guarantor.level == level.value)


def mine_stats(settings: Settings) -> list[tuple[str, ColumnElement]]:
    """MineStats: the home page's counts."""
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


def verification(settings: Settings) -> list[tuple[str, ColumnElement]]:
    """核实: how many mines' basic data is verified, verified but changed since, never verified."""
    return [
        ("total", func.count()),
        ("verified", _count_if(Mine.verification_state == "VERIFIED")),
        ("stale", _count_if(Mine.verification_state == "STALE")),
        ("unverified", _count_if(Mine.verification_state == "UNVERIFIED")),
    ]


def _tallied_stats(trees: Trees) -> list[tuple[str, ColumnElement]]:
    """`mine_stats` and the category counts, summed from the mine tally."""
    def total(column) -> ColumnElement:
        return func.coalesce(func.sum(column), 0)

    return [
        ("total", total(MineTally.n)),
        ("large", total(MineTally.n_large)),
        ("medium", total(MineTally.n_medium)),
        ("small", total(MineTally.n_small)),
        ("over30_workers", total(MineTally.n_over_workers)),
        ("over800m_depth", total(MineTally.n_over_depth)),
        *((CATEGORY + node.code, total(case((MineTally.category_code == node.code, MineTally.n), else_=0)))
          for node in trees.categories),
    ]


def _tally_answers(scope: Scope | None, spec: FilterSpec, trees: Trees, settings: Settings,
                   measures: Measures, grain: str | None) -> bool:
    """Whether the mine tally holds these counts (else the mines are counted)."""
    return (
        measures is mine_stats and grain in (None, "county_code")
        and scope is not None and scope.tier is not UserTier.ENTERPRISE  # the tally has no mine ids
        and (settings.workers_threshold, settings.depth_threshold_m) == (WORKERS_THRESHOLD, DEPTH_THRESHOLD_M)
        and tally_filters(spec, trees)
    )


async def _grouped(
    engine: AsyncEngine, scope: Scope | None, spec: FilterSpec, trees: Trees, settings: Settings,
    measures: Measures, grain: str | None, within: RegionNode | None,
) -> tuple[tuple[str, ...], list]:
    if _tally_answers(scope, spec, trees, settings, measures, grain):
        table, named = MineTally, _tallied_stats(trees)
    else:
        table, named = Mine, [
            *measures(settings),
            *((CATEGORY + node.code, _count_if(Mine.category_code == node.code)) for node in trees.categories),
        ]
    conditions = [jurisdiction(scope, table), *filter_clauses(spec, trees, settings, table)]
    if table is MineTally and spec.production_statuses is None:
        conditions.append(MineTally.production_status == ALL_STATUSES)  # the sums over every status
    if within is not None and within.column is not None:
        conditions.append(getattr(table, within.column) == within.code)
    keys = [getattr(table, grain)] if grain else []
    statement = select(*keys, *(expr for _, expr in named)).where(and_(*conditions))
    if keys:
        statement = statement.group_by(*keys)
    async with engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    return tuple(name for name, _ in named), rows


def _sum_up(names: tuple[str, ...], rows, ancestors, top) -> dict[str, Counts]:
    """Each grain row (code, *numbers) summed into its node and every ancestor up to `top`.

    Level by level from the deepest: a node's sums are complete when its level is
    reached and go to its parent in one addition (about 3,200 additions for a
    national tree, instead of one per row and ancestor)."""
    sums: dict[str, list[int]] = {}
    by_depth: dict[int, dict[str, tuple]] = {}  # depth -> code -> its ancestor chain (itself first)
    for code, *numbers in rows:
        sums[code] = numbers
        chain = ancestors(code)
        by_depth.setdefault(len(chain), {})[code] = chain
    for depth in range(max(by_depth, default=0), 1, -1):  # parents join the next level as they appear
        for code, chain in by_depth.get(depth, {}).items():
            if chain[0] is top:
                continue
            parent = chain[1]
            current = sums.get(parent.code)
            if current is None:
                sums[parent.code] = list(sums[code])
                by_depth.setdefault(depth - 1, {})[parent.code] = chain[1:]
            else:
                sums[parent.code] = list(map(add, current, sums[code]))
    return {code: Counts(names, numbers) for code, numbers in sums.items()}


def lowest_common_ancestor(trees: Trees, nodes: Sequence[RegionNode]) -> RegionNode:
    common: list[RegionNode] | None = None
    for node in nodes:
        chain = list(reversed(trees.region_ancestors(node)))  # nation first
        common = chain if common is None else [a for a, b in zip(common, chain) if a is b]
    return common[-1]


async def region_rollup(
    engine: AsyncEngine, scope: Scope | None, spec: FilterSpec, trees: Trees, settings: Settings,
    measures: Measures, top: RegionNode,
) -> dict[str, Counts]:
    """Counts for every region under `top` (itself included)."""
    names, rows = await _grouped(engine, scope, spec, trees, settings, measures, "county_code", top)
    return _sum_up(names, rows, lambda code: trees.region_ancestors(trees.regions[code]), top)


async def single_region_counts(
    engine: AsyncEngine, scope: Scope | None, spec: FilterSpec, trees: Trees, settings: Settings,
    measures: Measures, node: RegionNode,
) -> Counts:
    """One region on its own (a dashboard): a single row of sums."""
    names, rows = await _grouped(engine, scope, spec, trees, settings, measures, None, node)
    return Counts(names, list(rows[0]))


async def mineral_rollup(
    engine: AsyncEngine, scope: Scope | None, spec: FilterSpec, trees: Trees, settings: Settings,
    measures: Measures,
) -> dict[str, Counts]:
    """Counts for every node of the mineral tree, from one statement by leaf."""
    names, rows = await _grouped(engine, scope, spec, trees, settings, measures, "mineral_code", None)
    return _sum_up(names, rows, lambda code: trees.mineral_ancestors(trees.minerals[code]), None)
