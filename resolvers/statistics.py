"""The statistic fields (stats, completeness, verification, byCategory, totalCount) and the trees'
`children`: one function each, of (source, context, arguments); and the objects they answer with.

Each field's Strawberry resolver calls its function, and so does execution/fast_execution.py for a
field that opts in (execution/field_functions.py); `arguments` are by GraphQL name, a tree node's
statistic's already merged with those from the nodes above (execution/drill_down.py). A statistic is
answered at once when this request has counted it already, else as an awaitable (the counting is
resolvers/loaders.Counting's: one statement per subtree).

The answers are the domain objects themselves, and they are the sources of the GraphQL types that
show them (the types in schema/ only declare fields, read off these by Python name): a tree node
seen through this request is a `ScopedNode` (Region, MineralType), a statistic is the node's
resolvers/stats.Counts (MineStats, Completeness, VerificationStats), a byCategory entry a
`MineralCount`. A MineConnection (`spec`, `anchor`) is the other source these functions read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resolvers.regions import get_region, region_children
from resolvers.stats import completeness, mine_stats, verification

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from execution.drill_down import Scoping
    from models.trees import MineralNode, RegionNode
    from resolvers.stats import Counts, Measures
    from web.context import Context

    FieldFunction = Callable[[Any, Context, dict[str, Any]], Any]


class ScopedNode:
    """A region or mineral type as this request sees it: the source of a Region or a MineralType.

    `code`, `name` and `level` are the fields the types declare; `scoping` holds the arguments its
    statistics take from the nodes above (execution/drill_down.Scoping). A node reached otherwise than
    through `children` (a root, a parent, a mine's region) has none yet: the executor gives it an
    empty one before any of its fields resolve (resolvers cannot import execution/)."""

    __slots__ = ("code", "level", "name", "node", "scoping")

    def __init__(self, node: RegionNode | MineralNode, scoping: Scoping | None = None) -> None:
        self.node = node
        self.scoping = scoping
        self.code, self.name, self.level = node.code, node.name, node.level


class MineralCount:
    """One of MineStats.byCategory: a top-level mineral category and its count."""

    __slots__ = ("count", "mineral")

    def __init__(self, mineral: ScopedNode, count: int) -> None:
        self.mineral = mineral
        self.count = count


def statistic(measures: Measures) -> FieldFunction:
    """A tree node's statistic (Region's, MineralType's; Dashboard's on the caller's root region):
    the Counts of the node's mines under `filter`, and inside `regionCode` when given."""
    def answer(source: ScopedNode, ctx: Context, arguments: dict[str, Any]) -> Counts | Any:
        spec = ctx.filter_spec(arguments.get("filter"))
        region_code = arguments.get("regionCode")
        if region_code is not None:
            spec = spec.within(get_region(ctx, region_code).code)
        return ctx.loaders.counts.of(measures, spec, source.node)

    return answer


node_stats = statistic(mine_stats)
node_completeness = statistic(completeness)
node_verification = statistic(verification)


def by_category(stats: Counts, ctx: Context, _arguments: dict[str, Any]) -> list[MineralCount]:
    """MineStats.byCategory: the four top-level categories, zeros included, in the tree's order."""
    per_category = stats.per_category
    return [MineralCount(ScopedNode(node), per_category.get(node.code, 0)) for node in ctx.trees.categories]


def total_count(connection: Any, ctx: Context, _arguments: dict[str, Any]) -> Any:
    """MineConnection.totalCount: every match, counted as the statistics are (one statement for all
    the connections of a level under one filter)."""
    return ctx.loaders.counts.of(mine_stats, connection.spec, connection.anchor, _total)


def _total(counts: Counts) -> int:
    return counts["total"]


def region_children_of(region: ScopedNode, ctx: Context, _arguments: dict[str, Any]) -> list[ScopedNode]:
    """Region.children: the sub-regions inside the caller's jurisdiction."""
    return _below(region, region_children(ctx, region.node))


def mineral_children_of(mineral: ScopedNode, _ctx: Context, _arguments: dict[str, Any]) -> list[ScopedNode]:
    """MineralType.children."""
    return _below(mineral, mineral.node.children)


def _below(parent: ScopedNode, children: Iterable[RegionNode | MineralNode]) -> list[ScopedNode]:
    """The children of `parent`, each taking the statistics' arguments down (execution/drill_down.py):
    one Scoping for all of them, as they share one selection."""
    scoping = parent.scoping.for_children()
    return [ScopedNode(child, scoping) for child in children]
