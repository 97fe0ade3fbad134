"""MineralType: a node of the three-level mineral tree.

Its source is a resolvers/statistics.ScopedNode (the resolvers' fields below read it as `self`);
the type only declares the fields."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from execution.field_functions import fast, resolve
from resolvers import statistics
from schema.inputs import MineFilterInput
from schema.types.campaign import CompletenessType
from schema.types.stats import MineStatsType
from schema.types.verification import VerificationStatsType


@strawberry.type(name="MineralType")
class MineralTypeType:
    code: str
    name: str
    level: int = strawberry.field(description="1 category, 2 group, 3 mineral (a leaf).")

    @strawberry.field
    def parent(self, info: Info) -> Annotated["MineralTypeType", strawberry.lazy("schema.types.mineral")] | None:
        code = self.node.parent_code
        return None if code is None else statistics.ScopedNode(info.context.trees.minerals[code])

    @strawberry.field(metadata=fast(statistics.mineral_children_of))
    def children(self, info: Info) -> list[Annotated["MineralTypeType", strawberry.lazy("schema.types.mineral")]]:
        return resolve(statistics.mineral_children_of, self, info)

    @strawberry.field(description="Counts of mines of this type in the caller's jurisdiction. An argument "
                                  "left out takes the value the same statistic has on the types above.",
                      metadata=fast(statistics.node_stats))
    def stats(
        self, info: Info, region_code: str | None = None, filter: MineFilterInput | None = None
    ) -> MineStatsType:
        return resolve(statistics.node_stats, self, info, regionCode=region_code, filter=filter)

    @strawberry.field(description="Campaign progress of the mines of this type in the caller's jurisdiction. An "
                                  "argument left out takes the value the same statistic has on the types above.",
                      metadata=fast(statistics.node_completeness))
    def completeness(
        self, info: Info, region_code: str | None = None, filter: MineFilterInput | None = None
    ) -> CompletenessType:
        return resolve(statistics.node_completeness, self, info, regionCode=region_code, filter=filter)

    @strawberry.field(description="核实 counts of the mines of this type in the caller's jurisdiction. An "
                                  "argument left out takes the value the same statistic has on the types above.",
                      metadata=fast(statistics.node_verification))
    def verification(
        self, info: Info, region_code: str | None = None, filter: MineFilterInput | None = None
    ) -> VerificationStatsType:
        return resolve(statistics.node_verification, self, info, regionCode=region_code, filter=filter)
