"""DATABASE_POOL_SIZE and DATABASE_POOL_OVERFLOW bound the PostgreSQL connections of a process
(README, "Scaling out"): queries beyond them wait for a connection, they are not refused."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import event

from support import sqldb
from support.environment import build_env
from support.queries import MINES

pytestmark = pytest.mark.skipif(not sqldb.POSTGRESQL, reason="a PostgreSQL setting: SQLite has no connection pool to size")


async def test_a_process_opens_no_more_connections_than_its_pool_allows(tmp_path):
    async with AsyncExitStack() as stack:
        env = await build_env(stack, tmp_path, mines=200, database_pool_size=2, database_pool_overflow=1)
        engine = env.app.state.engine.sync_engine
        token = await env.token("000000-001")
        opened: list[int] = []
        event.listen(engine, "connect", lambda *_: opened.append(1))
        busiest = 0

        def checked_out(*_):
            nonlocal busiest
            busiest = max(busiest, engine.pool.checkedout())

        event.listen(engine, "checkout", checked_out)
        # 12 different pages at once: none is in the response cache, each needs the database.
        results = await asyncio.gather(*(env.gql(MINES, {"first": k + 1}, token) for k in range(12)))
        assert [r.errors for r in results] == [None] * 12
        assert [len(r.data["mines"]["edges"]) for r in results] == list(range(1, 13))
        assert 1 <= busiest <= 3 and len(opened) <= 3
