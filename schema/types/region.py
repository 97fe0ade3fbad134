"""Region: a node of the administrative tree, seen through the caller's scope.

Its source is a resolvers/statistics.ScopedNode (the resolvers' fields below read it as `self`);
the type only declares the fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from execution.field_functions import fast, resolve
from resolvers import statistics
from resolvers.mines import mine_page
from resolvers.regions import region_parent
from schema.enums import RegionLevel
from schema.inputs import MineFilterInput
from schema.types.campaign import CompletenessType
from schema.types.stats import MineStatsType
from schema.types.verification import VerificationStatsType

if TYPE_CHECKING:
    from schema.types.mine import MineConnectionType


@strawberry.type(name="Region")
class RegionType:
    code: str
    name: str
    level: RegionLevel

    @strawberry.field(description="Null at the caller's root region.")
    def parent(self, info: Info) -> Annotated["RegionType", strawberry.lazy("schema.types.region")] | None:
        parent = region_parent(info.context, self.node)
        return None if parent is None else statistics.ScopedNode(parent)

    @strawberry.field(description="Only the sub-regions inside the caller's jurisdiction.",
                      metadata=fast(statistics.region_children_of))
    def children(self, info: Info) -> list[Annotated["RegionType", strawberry.lazy("schema.types.region")]]:
        return resolve(statistics.region_children_of, self, info)

    @strawberry.field(description="Counts of the mines in this region (and the caller's jurisdiction). "
                                  "Without a filter, the filter the same statistic has on the regions above.",
                      metadata=fast(statistics.node_stats))
    def stats(self, info: Info, filter: MineFilterInput | None = None) -> MineStatsType:
        return resolve(statistics.node_stats, self, info, filter=filter)

    @strawberry.field(description="Campaign progress of the mines in this region (and the caller's jurisdiction). "
                                  "Without a filter, the filter the same statistic has on the regions above.",
                      metadata=fast(statistics.node_completeness))
    def completeness(self, info: Info, filter: MineFilterInput | None = None) -> CompletenessType:
        return resolve(statistics.node_completeness, self, info, filter=filter)

    @strawberry.field(description="核实 counts of the mines in this region (and the caller's jurisdiction). "
                                  "Without a filter, the filter the same statistic has on the regions above.",
                      metadata=fast(statistics.node_verification))
    def verification(self, info: Info, filter: MineFilterInput | None = None) -> VerificationStatsType:
        return resolve(statistics.node_verification, self, info, filter=filter)

    @strawberry.field(description="Mines in this region, ordered by region code then mine code.")
    async def mines(
        self, info: Info, filter: MineFilterInput | None = None, first: int | None = 20, after: str | None = None
    ) -> Annotated["MineConnectionType", strawberry.lazy("schema.types.mine")]:
        from schema.types.mine import MineConnectionType

        ctx = info.context
        spec = ctx.filter_spec(filter)
        page = await mine_page(ctx, spec.within(self.code), first, after)
        return MineConnectionType.of(page, spec, self.node)
