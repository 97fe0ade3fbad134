"""DataLoaders, created per request for one caller's scope.

Every statement here is built with `jurisdiction(scope)`, so a loader can
never return a mine the caller may not see.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from auth.scope import jurisdiction
from models.audit import AuditLog
from models.mine import Guarantor, Mine
from resolvers.stats import completeness, mine_stats, mineral_counts, region_counts

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from auth.scope import Scope
    from models.trees import MineralNode, RegionNode, Trees
    from resolvers.filters import FilterSpec
    from resolvers.stats import Counts
    from settings import Settings


HISTORY_LIMIT = 100


class Loaders:
    def __init__(self, engine: AsyncEngine, trees: Trees, scope: Scope | None, settings: Settings) -> None:
        self.engine = engine
        self.trees = trees
        self.scope = scope
        self.settings = settings
        self._counts: dict[tuple, DataLoader] = {}
        self.mine = DataLoader(self._load_mines)
        self.guarantors = DataLoader(self._load_guarantors)
        self.history = DataLoader(self._load_history)

    def forget_mine(self, mine_id: int) -> None:
        """Drop what this request cached about a mine it has just changed."""
        for loader in (self.mine, self.guarantors, self.history):
            with suppress(KeyError):  # not cached yet
                loader.clear(mine_id)

    def region_stats(self, spec: FilterSpec) -> DataLoader[RegionNode, Counts]:
        return self._counts_loader(region_counts, mine_stats, spec)

    def region_completeness(self, spec: FilterSpec) -> DataLoader[RegionNode, Counts]:
        return self._counts_loader(region_counts, completeness, spec)

    def mineral_stats(self, spec: FilterSpec) -> DataLoader[MineralNode, Counts]:
        return self._counts_loader(mineral_counts, mine_stats, spec)

    def _counts_loader(self, count, measures, spec: FilterSpec) -> DataLoader:
        """One loader per (tree, measures, filter): the nodes asked for in one tick share one statement."""
        key = (count, measures, spec)
        loader = self._counts.get(key)
        if loader is None:
            async def load(nodes: list) -> list[Counts]:
                return await count(self.engine, self.scope, spec, self.trees, self.settings, measures, nodes)

            loader = self._counts[key] = DataLoader(load)
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

    async def _load_history(self, mine_ids: list[int]):
        """The changes to each mine, newest first (at most HISTORY_LIMIT each)."""
        statement = (
            select(AuditLog)
            .join(Mine, Mine.id == AuditLog.mine_id)
            .where(AuditLog.mine_id.in_(mine_ids), jurisdiction(self.scope))
            .order_by(AuditLog.mine_id, AuditLog.at.desc(), AuditLog.id.desc())
        )
        found: dict[int, list] = {i: [] for i in mine_ids}
        async with self.engine.connect() as conn:
            for row in (await conn.execute(statement)).all():
                if len(found[row.mine_id]) < HISTORY_LIMIT:
                    found[row.mine_id].append(row)
        return [found[i] for i in mine_ids]
