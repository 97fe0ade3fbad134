"""MineStats: the counts every statistic shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from execution.field_functions import fast, resolve
from resolvers import statistics
from resolvers.stats import Counts

if TYPE_CHECKING:
    from models.trees import MineralNode
    from schema.types.mineral import MineralTypeType


@strawberry.type(name="MineralCount")
class MineralCountType:
    mineral: Annotated["MineralTypeType", strawberry.lazy("schema.types.mineral")]
    count: int

    @classmethod
    def of(cls, node: MineralNode, count: int) -> MineralCountType:
        from schema.types.mineral import MineralTypeType

        return cls(mineral=MineralTypeType.of(node), count=count)


BY_CATEGORY = statistics.categories(MineralCountType.of)


@strawberry.type(name="MineStats")
class MineStatsType:
    total: int
    large: int
    medium: int
    small: int
    over30_workers: int = strawberry.field(description="Mines whose workers per shift exceed the threshold (default 30).")
    over800m_depth: int = strawberry.field(description="Mines whose maximum depth exceeds the threshold (default 800 m).")
    counts: strawberry.Private[Counts]

    @classmethod
    def build(cls, counts: Counts) -> MineStatsType:
        return cls(
            total=counts["total"],
            large=counts["large"],
            medium=counts["medium"],
            small=counts["small"],
            over30_workers=counts["over30_workers"],
            over800m_depth=counts["over800m_depth"],
            counts=counts,
        )

    @strawberry.field(description="The four top-level mineral categories, zeros included, in a fixed order.",
                      metadata=fast(BY_CATEGORY))
    def by_category(self, info: Info) -> list[MineralCountType]:
        return resolve(BY_CATEGORY, self, info)
