"""DataLoaders, created per request for one caller's scope.

Every statement here is built with `jurisdiction(scope)`, so a loader can
never return a mine the caller may not see.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from auth.scope import jurisdiction
from models.audit import AuditLog
from models.mine import Guarantor, Mine
from models.trees import RegionNode
from resolvers.stats import Counts, lowest_common_ancestor, mineral_rollup, region_rollup, single_region_counts

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncEngine

    from auth.scope import Scope
    from models.trees import MineralNode, Trees
    from resolvers.filters import FilterSpec
    from resolvers.stats import Measures
    from settings import Settings


HISTORY_LIMIT = 100
T = TypeVar("T")


class SharedLoader(DataLoader):
    """A DataLoader whose waiters cannot cancel one another.

    graphql-core cancels the pending siblings of a field whose error nulls their
    parent; a cancelled waiter would cancel the loader's shared future too, and
    every other field waiting on the same key would fail. Each waiter gets its
    own shield instead.
    """

    def load(self, key):
        return asyncio.shield(super().load(key))


class _Counted:
    """Counts of a subtree (`whole`: every node under `top`, and a node without a row counts zero;
    else `top` alone), kept once the task counting them is done."""

    __slots__ = ("code", "column", "counts", "task", "whole")

    def __init__(self, top: RegionNode | None, whole: bool) -> None:
        self.whole = whole
        self.code = None if top is None else top.code
        # The node attribute that must equal `code` for a node to be inside (None: every node is).
        self.column = None if top is None else top.column if whole else "code"
        self.counts: dict[str, Counts] | None = None
        self.task: asyncio.Future | None = None

    def covers(self, node: RegionNode | MineralNode) -> bool:
        return self.column is None or getattr(node, self.column) == self.code

    def of(self, node: RegionNode | MineralNode) -> Counts:
        return self.counts.get(node.code) or Counts()


class Counting:
    """The counts of tree nodes (regions, mineral types) for one request and caller: the one place
    that knows what is counted already and counts the rest.

    `of(measures, spec, node)` is the node's Counts (`build(counts)` when given) at once when a
    statement of this request has counted the node already (no await, no task: most nodes of a
    large drill-down), else an awaitable of it. The nodes that wait in one tick make one batch,
    counted by one statement: a mineral batch counts the whole mineral tree, a region batch the
    subtree under its nodes' lowest common ancestor (a region alone: that region only, a
    dashboard). A node inside a subtree still being counted waits for that statement instead of
    starting another.
    """

    def __init__(self, engine: AsyncEngine, trees: Trees, scope: Scope | None, settings: Settings) -> None:
        self._sql = (engine, scope, trees, settings)
        self._counted: dict[tuple, list[_Counted]] = {}  # (measures, spec, node class) -> subtrees, in order
        self._batches: dict[tuple, SharedLoader] = {}

    def _subtree(self, key: tuple, node: RegionNode | MineralNode, *, whole: bool = False) -> _Counted | None:
        """The subtree that holds or is counting the node's counts; `whole`: all below it too."""
        for subtree in self._counted.get(key, ()):
            if (subtree.whole or not whole) and subtree.covers(node):
                return subtree
        return None

    def of(self, measures: Measures, spec: FilterSpec, node: RegionNode | MineralNode,
           build: Callable[[Counts], T] | None = None) -> Counts | T | Awaitable[Counts | T]:
        key = (measures, spec, type(node))
        for subtree in self._counted.get(key, ()):  # `_subtree` inline, counted ones only: the hot path
            if subtree.counts is not None and subtree.covers(node):
                return subtree.of(node) if build is None else build(subtree.of(node))
        batch = self._batches.get(key)
        if batch is None:  # no cache of its own: what is counted is kept here, once
            batch = self._batches[key] = SharedLoader(partial(self._batch, key), cache=False)
        waiting = batch.load(node)  # now: every node that waits in this tick joins one batch

        async def built() -> Counts | T:
            counts = await waiting
            return counts if build is None else build(counts)

        return built()

    async def count_subtree(self, measures: Measures, spec: FilterSpec, top: RegionNode) -> None:
        """Count every region under `top` now (a drill-down is coming: execution/drill_down.py)."""
        key = (measures, spec, RegionNode)
        subtree = self._subtree(key, top, whole=True) or self._start(key, top, True)
        await asyncio.shield(subtree.task)

    async def _batch(self, key: tuple, nodes: list[RegionNode | MineralNode]) -> list[Counts]:
        pending = [n for n in nodes if self._subtree(key, n) is None]
        if pending:
            if key[2] is not RegionNode:
                self._start(key, None, True)  # the mineral tree: one statement counts all of it
            elif len(pending) == 1 and len(nodes) == 1:
                self._start(key, pending[0], False)  # a region on its own (a dashboard): just that
            else:
                self._start(key, lowest_common_ancestor(self._sql[2], pending), True)
        subtrees = [self._subtree(key, node) for node in nodes]
        for subtree in dict.fromkeys(subtrees):
            await asyncio.shield(subtree.task)
        return [subtree.of(node) for subtree, node in zip(subtrees, nodes, strict=True)]

    def _start(self, key: tuple, top: RegionNode | None, whole: bool) -> _Counted:
        measures, spec, _tree = key
        engine, scope, trees, settings = self._sql
        if top is None:
            counting = mineral_rollup(engine, scope, spec, trees, settings, measures)
        elif whole:
            counting = region_rollup(engine, scope, spec, trees, settings, measures, top)
        else:
            counting = self._one(single_region_counts(engine, scope, spec, trees, settings, measures, top), top)
        subtree = _Counted(top, whole)
        subtrees = self._counted.setdefault(key, [])
        subtrees.append(subtree)
        subtree.task = asyncio.ensure_future(self._kept(subtrees, subtree, counting))
        return subtree

    @staticmethod
    async def _one(counting: Awaitable[Counts], top: RegionNode) -> dict[str, Counts]:
        return {top.code: await counting}

    @staticmethod
    async def _kept(subtrees: list[_Counted], subtree: _Counted, counting: Awaitable[dict[str, Counts]]) -> None:
        """The counts, kept on their subtree; a failed statement is forgotten (a later node counts again)."""
        try:
            subtree.counts = await counting
        except BaseException:
            subtrees.remove(subtree)
            raise


class Loaders:
    def __init__(self, engine: AsyncEngine, trees: Trees, scope: Scope | None, settings: Settings) -> None:
        self.engine = engine
        self.trees = trees
        self.scope = scope
        self.settings = settings
        self.counts = Counting(engine, trees, scope, settings)
        self.mine = SharedLoader(self._load_mines)
        self.guarantors = SharedLoader(self._load_guarantors)
        self.history = SharedLoader(self._load_history)

    def forget_mine(self, mine_id: int) -> None:
        """Drop what this request cached about a mine it has just changed."""
        for loader in (self.mine, self.guarantors, self.history):
            with suppress(KeyError):  # not cached yet
                loader.clear(mine_id)

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
