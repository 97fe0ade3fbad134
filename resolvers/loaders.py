"""DataLoaders, created per request for one caller's scope.

Every statement here is built with `jurisdiction(scope)`, so a loader can
never return a mine the caller may not see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from auth.scope import jurisdiction
from models.mine import Guarantor, Mine
from resolvers.stats import mineral_counts, region_counts

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from auth.scope import Scope
    from models.trees import MineralNode, RegionNode, Trees
    from resolvers.filters import FilterSpec
    from resolvers.stats import Counts
    from settings import Settings


class Loaders:
    def __init__(self, engine: AsyncEngine, trees: Trees, scope: Scope | None, settings: Settings) -> None:
        self.engine = engine
        self.trees = trees
        self.scope = scope
        self.settings = settings
        self._region_stats: dict[FilterSpec, DataLoader[RegionNode, Counts]] = {}
        self._mineral_stats: dict[FilterSpec, DataLoader[MineralNode, Counts]] = {}
        self.mine = DataLoader(self._load_mines)
        self.guarantors = DataLoader(self._load_guarantors)

    def region_stats(self, spec: FilterSpec) -> DataLoader[RegionNode, Counts]:
        return self._stats_loader(self._region_stats, region_counts, spec)

    def mineral_stats(self, spec: FilterSpec) -> DataLoader[MineralNode, Counts]:
        return self._stats_loader(self._mineral_stats, mineral_counts, spec)

    def _stats_loader(self, loaders: dict, count, spec: FilterSpec) -> DataLoader:
        """One loader per filter: all nodes asked for in one tick share one statement."""
        loader = loaders.get(spec)
        if loader is None:
            async def load(nodes: list) -> list[Counts]:
                return await count(self.engine, self.scope, spec, self.trees, self.settings, nodes)

            loader = loaders[spec] = DataLoader(load)
        return loader

    async def _load_mines(self, ids: list[int]):
        statement = select(Mine).where(Mine.id.in_(ids), jurisdiction(self.scope))
        async with self.engine.connect() as conn:
            rows = {row.id: row for row in (await conn.execute(statement)).all()}
        return [rows.get(i) for i in ids]

    async def _load_guarantors(self, mine_ids: list[int]):
        statement = (
            select(Guarantor)
            .join(Mine, Mine.id == Guarantor.mine_id)
            .where(Guarantor.mine_id.in_(mine_ids), jurisdiction(self.scope))
        )
        found: dict[int, list] = {i: [] for i in mine_ids}
        async with self.engine.connect() as conn:
            for row in (await conn.execute(statement)).all():
                found[row.mine_id].append(row)
        return [found[i] for i in mine_ids]
