"""MineralType: a node of the three-level mineral tree."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from models.trees import MineralNode
from resolvers.filters import parse_filter
from resolvers.regions import get_region
from schema.inputs import MineFilterInput
from resolvers.stats import completeness, mine_stats
from schema.types.campaign import CompletenessType
from schema.types.stats import MineStatsType, counted


@strawberry.type(name="MineralType")
class MineralTypeType:
    code: str
    name: str
    level: int = strawberry.field(description="1 category, 2 group, 3 mineral (a leaf).")
    node: strawberry.Private[MineralNode]

    @classmethod
    def of(cls, node: MineralNode) -> MineralTypeType:
        return cls(code=node.code, name=node.name, level=node.level, node=node)

    @strawberry.field
    def parent(self, info: Info) -> Annotated["MineralTypeType", strawberry.lazy("schema.types.mineral")] | None:
        code = self.node.parent_code
        return None if code is None else MineralTypeType.of(info.context.trees.minerals[code])

    @strawberry.field
    def children(self) -> list[Annotated["MineralTypeType", strawberry.lazy("schema.types.mineral")]]:
        return [MineralTypeType.of(child) for child in self.node.children]

    @strawberry.field(description="Counts of mines of this type in the caller's jurisdiction.")
    def stats(
        self, info: Info, region_code: str | None = None, filter: MineFilterInput | None = None
    ) -> MineStatsType:
        return mineral_counted(info, region_code, filter, self.node, mine_stats, MineStatsType.build)

    @strawberry.field(description="Campaign progress of the mines of this type in the caller's jurisdiction.")
    def completeness(
        self, info: Info, region_code: str | None = None, filter: MineFilterInput | None = None
    ) -> CompletenessType:
        return mineral_counted(info, region_code, filter, self.node, completeness, CompletenessType.build)


def mineral_counted(info: Info, region_code: str | None, raw_filter, node: MineralNode, measures, build):
    """Counts of a mineral-tree node under a filter (and region), built into a GraphQL type:
    the whole tree is counted by one statement per (measures, filter), now or awaitable."""
    ctx = info.context
    spec = parse_filter(raw_filter, ctx.scope, ctx.trees)
    if region_code is not None:
        spec = spec.within(get_region(ctx, region_code).code)
    loaders = ctx.loaders
    return counted(
        loaders.mineral_counts_now(measures, spec, node),
        lambda: loaders.mineral_counts(measures, spec, node),
        lambda counts: build(counts, ctx.trees),
    )
