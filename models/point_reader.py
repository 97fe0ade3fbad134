"""One-row indexed reads on the hot path: the bearer token (with the data version) that every
request reads before anything else, by the cheapest route each database offers.

- SQLite: a synchronous read-only connection used on the event loop itself. The read takes
  tens of microseconds; aiosqlite would send it to a worker thread and back, and under load
  those hand-offs, not the read, set the latency.
- PostgreSQL: a small pool of its own in autocommit, without a liveness ping. The service's
  engine pings each connection it checks out and wraps each statement in BEGIN … ROLLBACK:
  four round trips for what is one.

Either way a failed read (a busy SQLite shared-memory file, a PostgreSQL connection that died
while idle) raises DBAPIError, and the caller reads through the service's engine instead,
which waits, pings and reconnects as it always does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from models.db import connect_args, is_sqlite

if TYPE_CHECKING:
    from sqlalchemy import Engine, Executable, Row

# How long an SQLite read on the event loop may wait (a WAL reader waits only while a
# checkpoint or recovery rebuilds shared memory): past that the service's engine reads.
SQLITE_BUSY_MS = 20
POOL_SIZE = 8  # reads take well under a millisecond: a few connections serve many requests


class PointReader:
    def __init__(self, engine: Engine | AsyncEngine) -> None:
        self.engine = engine

    @property
    def sync_engine(self) -> Engine:
        """Where statement events are seen (tests count statements there)."""
        return self.engine.sync_engine if isinstance(self.engine, AsyncEngine) else self.engine

    async def first(self, statement: Executable, parameters: dict) -> Row | None:
        if isinstance(self.engine, AsyncEngine):
            async with self.engine.connect() as conn:
                return (await conn.execute(statement, parameters)).first()
        with self.engine.connect() as conn:
            return conn.execute(statement, parameters).first()

    async def dispose(self) -> None:
        if isinstance(self.engine, AsyncEngine):
            await self.engine.dispose()
        else:
            self.engine.dispose()


def make_point_reader(url: str, connect_timeout_s: float = 5.0) -> PointReader | None:
    """A reader for `url`; None for an in-memory SQLite database (nothing to share)."""
    if is_sqlite(url):
        if ":///" not in url or url.endswith(":memory:"):
            return None
        engine = create_engine("sqlite" + url[url.index(":///"):])

        def read_only(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        event.listen(engine, "connect", read_only)
        return PointReader(engine)
    # A fixed pool: connections past its size would be opened and closed again around each
    # burst, putting a PostgreSQL connection set-up inside requests (it set the p99 at 16
    # connections). Requests beyond the pool wait a fraction of a millisecond for one.
    return PointReader(create_async_engine(
        url, isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE, max_overflow=0,
        connect_args=connect_args(url, connect_timeout_s),
    ))
