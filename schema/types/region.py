"""Region: a node of the administrative tree, seen through the caller's scope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.filters import parse_filter
from resolvers.mines import mine_page
from resolvers.regions import region_children, region_parent
from schema.enums import RegionLevel
from execution.fast_execution import answered_directly
from schema.inputs import MineFilterInput
from execution.scoping import Scoping, filter_spec
from models.trees import RegionNode
from schema.types.campaign import CompletenessType
from resolvers.stats import completeness, mine_stats, verification
from schema.types.stats import MineStatsType, counted
from schema.types.verification import VerificationStatsType

if TYPE_CHECKING:
    from schema.types.mine import MineConnectionType


def region_counted(info: Info, raw_filter, node: RegionNode, measures, build):
    """Counts of `node` under a filter (an input object or a coerced dict), built into a GraphQL
    type (now, or awaitable)."""
    ctx = info.context
    spec = filter_spec(ctx, raw_filter)
    loaders = ctx.loaders
    return counted(
        loaders.region_counts_now(measures, spec, node),
        lambda: loaders.region_counts(measures, spec, node),
        lambda counts: build(counts, ctx.trees),
    )


def counted_now(measures, build):
    """A direct answer (execution/fast_execution.py) for a region's counts: the ones the
    request has already counted, else NotImplemented (the resolver waits for them)."""
    def answer(region: RegionType, ctx, arguments: dict[str, Any]):
        spec = ctx.coerced_filter(arguments.get("filter"))
        counts = ctx.loaders.region_counts_now(measures, spec, region.node)
        return NotImplemented if counts is None else build(counts, ctx.trees)

    return answered_directly(answer)


def _children_now(region: RegionType, ctx, _arguments) -> list[RegionType]:
    scoping = region.scoping.for_children()  # the statistics' arguments flow down (execution/scoping.py)
    return [RegionType.of(child, scoping) for child in region_children(ctx, region.node)]


@strawberry.type(name="Region")
class RegionType:
    code: str
    name: str
    level: RegionLevel
    node: strawberry.Private[RegionNode]
    scoping: strawberry.Private[Scoping]

    @classmethod
    def of(cls, node: RegionNode, scoping: Scoping | None = None) -> RegionType:
        return cls(code=node.code, name=node.name, level=node.level, node=node, scoping=scoping or Scoping())

    def _filter(self, info: Info, given) -> Any:
        """The filter a statistic counts with: the one given, else the one the regions above gave it."""
        return self.scoping.arguments(info.path.key, {"filter": given}).get("filter")

    @strawberry.field(description="Null at the caller's root region.")
    def parent(self, info: Info) -> Annotated["RegionType", strawberry.lazy("schema.types.region")] | None:
        parent = region_parent(info.context, self.node)
        return None if parent is None else RegionType.of(parent)

    @strawberry.field(description="Only the sub-regions inside the caller's jurisdiction.",
                      metadata=answered_directly(_children_now))
    def children(self, info: Info) -> list[Annotated["RegionType", strawberry.lazy("schema.types.region")]]:
        return _children_now(self, info.context, {})

    @strawberry.field(description="Counts of the mines in this region (and the caller's jurisdiction). "
                                  "Without a filter, the filter the same statistic has on the regions above.",
                      metadata=counted_now(mine_stats, MineStatsType.build))
    def stats(self, info: Info, filter: MineFilterInput | None = None) -> MineStatsType:
        return region_counted(info, self._filter(info, filter), self.node, mine_stats, MineStatsType.build)

    @strawberry.field(description="Campaign progress of the mines in this region (and the caller's jurisdiction). "
                                  "Without a filter, the filter the same statistic has on the regions above.",
                      metadata=counted_now(completeness, CompletenessType.build))
    def completeness(self, info: Info, filter: MineFilterInput | None = None) -> CompletenessType:
        return region_counted(info, self._filter(info, filter), self.node, completeness, CompletenessType.build)

    @strawberry.field(description="核实 counts of the mines in this region (and the caller's jurisdiction). "
                                  "Without a filter, the filter the same statistic has on the regions above.",
                      metadata=counted_now(verification, VerificationStatsType.build))
    def verification(self, info: Info, filter: MineFilterInput | None = None) -> VerificationStatsType:
        return region_counted(info, self._filter(info, filter), self.node, verification,
                              VerificationStatsType.build)

    @strawberry.field(description="Mines in this region, ordered by region code then mine code.")
    async def mines(
        self, info: Info, filter: MineFilterInput | None = None, first: int | None = 20, after: str | None = None
    ) -> Annotated["MineConnectionType", strawberry.lazy("schema.types.mine")]:
        from schema.types.mine import MineConnectionType

        ctx = info.context
        spec = parse_filter(filter, ctx.scope, ctx.trees)
        page = await mine_page(ctx, spec.within(self.code), first, after)
        return MineConnectionType.of(page, spec, self.node)
