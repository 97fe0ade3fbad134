"""MineStats: the counts every statistic shows, and how resolvers hand them out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from models.trees import Trees
from resolvers.stats import Counts
from execution.fast_execution import answered_directly

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from schema.types.mineral import MineralTypeType

T = TypeVar("T")


def counted(now: Counts | None, later: Callable[[], Awaitable[Counts]], build: Callable[[Counts], T]) -> Any:
    """`build(counts)` at once when the request has already counted them, else an
    awaitable of it. Answering synchronously spares graphql-core a task per node,
    which is most of the cost of a large drill-down."""
    if now is not None:
        return build(now)

    async def wait() -> T:
        return build(await later())

    return wait()


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
    counts: strawberry.Private[Counts]
    trees: strawberry.Private[Trees]

    @classmethod
    def build(cls, counts: Counts, trees: Trees) -> MineStatsType:
        return cls(
            total=counts["total"],
            large=counts["large"],
            medium=counts["medium"],
            small=counts["small"],
            over30_workers=counts["over30_workers"],
            over800m_depth=counts["over800m_depth"],
            counts=counts,
            trees=trees,
        )

    def category_counts(self, _context: Any = None, _arguments: Any = None) -> list[MineralCountType]:
        from schema.types.mineral import MineralTypeType

        by_category = self.counts.by_category
        return [MineralCountType(mineral=MineralTypeType.of(node), count=by_category.get(node.code, 0))
                for node in self.trees.categories]

    @strawberry.field(description="The four top-level mineral categories, zeros included, in a fixed order.",
                      metadata=answered_directly(category_counts))
    def by_category(self, info: Info) -> list[MineralCountType]:
        return self.category_counts()
