"""MineStats: the counts every statistic shows.

Its source is the node's resolvers/stats.Counts (each count an attribute of the same name), and a
MineralCount's is a resolvers/statistics.MineralCount: the types only declare the fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from execution.field_functions import fast, resolve
from resolvers import statistics

if TYPE_CHECKING:
    from schema.types.mineral import MineralTypeType


@strawberry.type(name="MineralCount")
class MineralCountType:
    mineral: Annotated["MineralTypeType", strawberry.lazy("schema.types.mineral")]
    count: int


@strawberry.type(name="MineStats")
class MineStatsType:
    total: int
    large: int
    medium: int
    small: int
    over30_workers: int = strawberry.field(description="Mines whose workers per shift exceed the threshold (default 30).")
    over800m_depth: int = strawberry.field(description="Mines whose maximum depth exceeds the threshold (default 800 m).")

    @strawberry.field(description="The four top-level mineral categories, zeros included, in a fixed order.",
                      metadata=fast(statistics.by_category))
    def by_category(self, info: Info) -> list[MineralCountType]:
        return resolve(statistics.by_category, self, info)
