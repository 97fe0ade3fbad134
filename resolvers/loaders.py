"""DataLoaders, created per request for one caller's scope.

Every statement here is built with `jurisdiction(scope)`, so a loader can
never return a mine the caller may not see.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import TYPE_CHECKING

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from auth.scope import jurisdiction
from models.audit import AuditLog
from models.mine import Guarantor, Mine
from resolvers.stats import Counts, mineral_rollup, region_rollup, single_region_counts

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from sqlalchemy.ext.asyncio import AsyncEngine

    from auth.scope import Scope
    from models.trees import MineralNode, RegionNode, Trees
    from resolvers.filters import FilterSpec
    from resolvers.stats import Measures
    from settings import Settings


HISTORY_LIMIT = 100


class SharedLoader(DataLoader):
    """A DataLoader whose waiters cannot cancel one another.

    graphql-core cancels the pending siblings of a field whose error nulls their
    parent; a cancelled waiter would cancel the loader's shared future too, and
    every other field waiting on the same key would fail. Each waiter gets its
    own shield instead.
    """

    def load(self, key):
        return asyncio.shield(super().load(key))


class Loaders:
    def __init__(self, engine: AsyncEngine, trees: Trees, scope: Scope | None, settings: Settings) -> None:
        self.engine = engine
        self.trees = trees
        self.scope = scope
        self.settings = settings
        self._region_loaders: dict[tuple, DataLoader] = {}
        self._region_rollups: dict[tuple, list[tuple[RegionNode, dict[str, Counts]]]] = {}
        self._mineral_loaders: dict[tuple, DataLoader] = {}
        self._mineral_rollups: dict[tuple, dict[str, Counts]] = {}
        self._mineral_counting: dict[tuple, asyncio.Future] = {}
        self.mine = SharedLoader(self._load_mines)
        self.guarantors = SharedLoader(self._load_guarantors)
        self.history = SharedLoader(self._load_history)

    def forget_mine(self, mine_id: int) -> None:
        """Drop what this request cached about a mine it has just changed."""
        for loader in (self.mine, self.guarantors, self.history):
            with suppress(KeyError):  # not cached yet
                loader.clear(mine_id)

    # Counts of regions and mineral types. A resolver first asks `*_now`, which
    # answers from what this request has already counted (no await, no task);
    # only the first node of a subtree waits for the batched statement.

    def region_counts_now(self, measures: Measures, spec: FilterSpec, node: RegionNode) -> Counts | None:
        for top, rollup in self._region_rollups.get((measures, spec), ()):
            if top.column is None or getattr(node, top.column) == top.code:
                return rollup.get(node.code) or Counts()
        return None

    def region_counts(self, measures: Measures, spec: FilterSpec, node: RegionNode) -> Awaitable[Counts]:
        key = (measures, spec)
        loader = self._region_loaders.get(key)
        if loader is None:
            async def load(nodes: list[RegionNode]) -> list[Counts]:
                return await self._count_regions(measures, spec, nodes)

            loader = self._region_loaders[key] = SharedLoader(load)
        return loader.load(node)

    async def _count_regions(self, measures: Measures, spec: FilterSpec, nodes: list[RegionNode]) -> list[Counts]:
        pending = [n for n in nodes if self.region_counts_now(measures, spec, n) is None]
        if len(pending) == 1 and len(nodes) == 1:
            # A region asked for on its own (a dashboard): count just that.
            args = (self.engine, self.scope, spec, self.trees, self.settings, measures)
            return [await single_region_counts(*args, pending[0])]
        if pending:
            rollup = await region_rollup(self.engine, self.scope, spec, self.trees, self.settings, measures, pending)
            self._region_rollups.setdefault((measures, spec), []).append(rollup)
        return [self.region_counts_now(measures, spec, n) for n in nodes]

    async def prefetch_region_rollup(self, measures: Measures, spec: FilterSpec, top: RegionNode) -> None:
        """Count the whole subtree under `top` now (a drill-down is coming)."""
        if self.region_counts_now(measures, spec, top) is None:
            rollup = await region_rollup(self.engine, self.scope, spec, self.trees, self.settings, measures, [top])
            self._region_rollups.setdefault((measures, spec), []).append(rollup)

    def mineral_counts_now(self, measures: Measures, spec: FilterSpec, node: MineralNode) -> Counts | None:
        rollup = self._mineral_rollups.get((measures, spec))
        return None if rollup is None else rollup.get(node.code) or Counts()

    def mineral_counts(self, measures: Measures, spec: FilterSpec, node: MineralNode) -> Awaitable[Counts]:
        key = (measures, spec)
        loader = self._mineral_loaders.get(key)
        if loader is None:
            async def load(nodes: list[MineralNode]) -> list[Counts]:
                if key not in self._mineral_rollups:
                    # Each level of a drill-down starts its own batch, while the first is still
                    # counting: all of them wait for that one statement instead of repeating it.
                    counting = self._mineral_counting.get(key)
                    if counting is None:
                        counting = self._mineral_counting[key] = asyncio.ensure_future(mineral_rollup(
                            self.engine, self.scope, spec, self.trees, self.settings, measures
                        ))
                    self._mineral_rollups[key] = await asyncio.shield(counting)
                return [self.mineral_counts_now(measures, spec, n) for n in nodes]

            loader = self._mineral_loaders[key] = SharedLoader(load)
        return loader.load(node)

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
            # Changes only: refused attempts on a mine are audited too, but are not its history.
            .where(AuditLog.mine_id.in_(mine_ids), AuditLog.action.like("mine.%"), jurisdiction(self.scope))
            .order_by(AuditLog.mine_id, AuditLog.at.desc(), AuditLog.id.desc())
        )
        found: dict[int, list] = {i: [] for i in mine_ids}
        async with self.engine.connect() as conn:
            for row in (await conn.execute(statement)).all():
                if len(found[row.mine_id]) < HISTORY_LIMIT:
                    found[row.mine_id].append(row)
        return [found[i] for i in mine_ids]
