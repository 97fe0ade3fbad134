"""MineralType: a node of the three-level mineral tree."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models.trees import MineralNode
from resolvers.regions import get_region
from schema.inputs import MineFilterInput
from execution.scoping import Scoping, filter_spec
from resolvers.stats import completeness, mine_stats, verification
from schema.types.campaign import CompletenessType
from schema.types.stats import MineStatsType, counted
from schema.types.verification import VerificationStatsType


@strawberry.type(name="MineralType")
class MineralTypeType:
    code: str
    name: str
    level: int = strawberry.field(description="1 category, 2 group, 3 mineral (a leaf).")
    node: strawberry.Private[MineralNode]
    scoping: strawberry.Private[Scoping]

    @classmethod
    def of(cls, node: MineralNode, scoping: Scoping | None = None) -> MineralTypeType:
        return cls(code=node.code, name=node.name, level=node.level, node=node, scoping=scoping or Scoping())

    @strawberry.field
    def parent(self, info: Info) -> Annotated["MineralTypeType", strawberry.lazy("schema.types.mineral")] | None:
        code = self.node.parent_code
        return None if code is None else MineralTypeType.of(info.context.trees.minerals[code])

    @strawberry.field
    def children(self) -> list[Annotated["MineralTypeType", strawberry.lazy("schema.types.mineral")]]:
        scoping = self.scoping.for_children()  # the statistics' arguments flow down (execution/scoping.py)
        return [MineralTypeType.of(child, scoping) for child in self.node.children]

    @strawberry.field(description="Counts of mines of this type in the caller's jurisdiction. An argument "
                                  "left out takes the value the same statistic has on the types above.")
    def stats(
        self, info: Info, region_code: str | None = None, filter: MineFilterInput | None = None
    ) -> MineStatsType:
        return mineral_counted(info, self._scoped(info, region_code, filter), self.node, mine_stats,
                               MineStatsType.build)

    @strawberry.field(description="Campaign progress of the mines of this type in the caller's jurisdiction. An "
                                  "argument left out takes the value the same statistic has on the types above.")
    def completeness(
        self, info: Info, region_code: str | None = None, filter: MineFilterInput | None = None
    ) -> CompletenessType:
        return mineral_counted(info, self._scoped(info, region_code, filter), self.node, completeness,
                               CompletenessType.build)

    @strawberry.field(description="核实 counts of the mines of this type in the caller's jurisdiction. An "
                                  "argument left out takes the value the same statistic has on the types above.")
    def verification(
        self, info: Info, region_code: str | None = None, filter: MineFilterInput | None = None
    ) -> VerificationStatsType:
        return mineral_counted(info, self._scoped(info, region_code, filter), self.node, verification,
                               VerificationStatsType.build)

    def _scoped(self, info: Info, region_code: str | None, filter: MineFilterInput | None) -> dict[str, Any]:
        return self.scoping.arguments(info.path.key, {"regionCode": region_code, "filter": filter})


def mineral_counted(info: Info, arguments: dict[str, Any], node: MineralNode, measures, build):
    """Counts of a mineral-tree node under a filter (and region), built into a GraphQL type:
    the whole tree is counted by one statement per (measures, filter), now or awaitable."""
    ctx = info.context
    spec = filter_spec(ctx, arguments.get("filter"))
    region_code = arguments.get("regionCode")
    if region_code is not None:
        spec = spec.within(get_region(ctx, region_code).code)
    loaders = ctx.loaders
    return counted(
        loaders.mineral_counts_now(measures, spec, node),
        lambda: loaders.mineral_counts(measures, spec, node),
        lambda counts: build(counts, ctx.trees),
    )
