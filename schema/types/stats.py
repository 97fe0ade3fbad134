"""MineStats: the counts every statistic shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

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
    by_category: list[MineralCountType] = strawberry.field(
        description="The four top-level mineral categories, zeros included, in a fixed order."
    )

    @classmethod
    def build(cls, counts, trees) -> MineStatsType:
        from schema.types.mineral import MineralTypeType

        return cls(
            total=counts["total"],
            large=counts["large"],
            medium=counts["medium"],
            small=counts["small"],
            over30_workers=counts["over30_workers"],
            over800m_depth=counts["over800m_depth"],
            by_category=[
                MineralCountType(mineral=MineralTypeType.of(node), count=counts.by_category.get(node.code, 0))
                for node in trees.categories
            ],
        )
