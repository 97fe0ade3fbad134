"""The statistic fields (stats, completeness, verification, byCategory, totalCount) and the trees'
`children`: one function each, of (source, context, arguments).

Each field's Strawberry resolver calls its function, and so does execution/fast_execution.py for a
field that opts in (execution/field_functions.py); `arguments` are by GraphQL name, a tree node's
statistic's already merged with those from the nodes above (execution/drill_down.py). A statistic is
built at once when this request has counted it already, else returned as an awaitable (the counting
is resolvers/loaders.Counting's: one statement per subtree).

Sources: a tree node (Region, MineralType: `node`, `scoping`, and `of(node, scoping)` making another
of its kind), a MineStats (`counts`), a MineConnection (`spec`, `anchor`). The GraphQL types a
statistic is built into are the schema's, handed in as `build` (resolvers do not import the schema).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resolvers.regions import get_region, region_children
from resolvers.stats import mine_stats

if TYPE_CHECKING:
    from collections.abc import Callable

    from resolvers.stats import Counts, Measures
    from web.context import Context

    FieldFunction = Callable[[Any, Context, dict[str, Any]], Any]


def statistic(measures: Measures, build: Callable[[Counts], Any]) -> FieldFunction:
    """A tree node's statistic (Region's, MineralType's; Dashboard's on the caller's root region):
    `build(counts)` of the node's mines under `filter`, and inside `regionCode` when given."""
    def answer(source: Any, ctx: Context, arguments: dict[str, Any]) -> Any:
        spec = ctx.filter_spec(arguments.get("filter"))
        region_code = arguments.get("regionCode")
        if region_code is not None:
            spec = spec.within(get_region(ctx, region_code).code)
        return ctx.loaders.counts.of(measures, spec, source.node, build)

    return answer


def categories(make: Callable[[Any, int], Any]) -> FieldFunction:
    """MineStats.byCategory: `make(category, count)` for the four top-level categories, zeros
    included, in the tree's order."""
    def answer(stats: Any, ctx: Context, _arguments: dict[str, Any]) -> list[Any]:
        by_category = stats.counts.by_category
        return [make(node, by_category.get(node.code, 0)) for node in ctx.trees.categories]

    return answer


def total_count(connection: Any, ctx: Context, _arguments: dict[str, Any]) -> Any:
    """MineConnection.totalCount: every match, counted as the statistics are (one statement for all
    the connections of a level under one filter)."""
    return ctx.loaders.counts.of(mine_stats, connection.spec, connection.anchor, _total)


def _total(counts: Counts) -> int:
    return counts["total"]


def region_children_of(region: Any, ctx: Context, _arguments: dict[str, Any]) -> list[Any]:
    """Region.children: the sub-regions inside the caller's jurisdiction, each taking the
    statistics' arguments down (execution/drill_down.py)."""
    scoping, of = region.scoping.for_children(), type(region).of
    return [of(child, scoping) for child in region_children(ctx, region.node)]


def mineral_children_of(mineral: Any, _ctx: Context, _arguments: dict[str, Any]) -> list[Any]:
    """MineralType.children, each taking the statistics' arguments down (execution/drill_down.py)."""
    scoping, of = mineral.scoping.for_children(), type(mineral).of
    return [of(child, scoping) for child in mineral.node.children]
