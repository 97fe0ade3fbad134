"""Database engine: SQLite (embedded default) or PostgreSQL via asyncpg."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from settings import Settings


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def connect_args(url: str, connect_timeout_s: float) -> dict:
    """A database host that drops packets (rather than refusing) must not hold a request for
    asyncpg's default 60 s: the connection attempt gives up sooner."""
    return {"timeout": connect_timeout_s} if "asyncpg" in url else {}


SYNCHRONOUS_MODES = ("FULL", "NORMAL")


def _sqlite_pragmas(busy_timeout_ms: int, synchronous: str):
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, not {synchronous!r}")

    def apply(dbapi_connection, _record) -> None:
        # WAL lets readers run beside a writer; the busy timeout makes a second
        # writer wait instead of failing; SQLite leaves foreign keys off unless asked.
        # FULL syncs the WAL at every commit, so an acknowledged write survives a
        # power cut too; NORMAL survives the death of the process only.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    return apply


def make_engine(
    url: str, *, busy_timeout_ms: int = 30_000, synchronous: str = "FULL", connect_timeout_s: float = 5.0,
    **kwargs,
) -> AsyncEngine:
    if is_sqlite(url):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(busy_timeout_ms, synchronous))
        return engine
    return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args(url, connect_timeout_s), **kwargs)


def make_engine_for(settings: Settings) -> AsyncEngine:
    """The configured database with the configured durability, timeouts and (PostgreSQL) pool:
    what the service and every command writing to its database use, so a CLI write waits and
    syncs alike."""
    pool = {} if is_sqlite(settings.database_url) else {
        "pool_size": settings.database_pool_size, "max_overflow": settings.database_pool_overflow}
    return make_engine(
        settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        synchronous=settings.sqlite_synchronous, connect_timeout_s=settings.database_connect_timeout_s, **pool,
    )


# Answered to clients when the database cannot be reached (or, on SQLite, its write lock is not
# obtained within the busy timeout): a coded error they can act on, never a bare 500.
UNAVAILABLE_MESSAGE = "数据库暂时不可用 / the database is unavailable at the moment: retry in a minute"
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03"}  # admin shutdown, crash shutdown, cannot connect now
_UNAVAILABLE_SQLITE = ("database is locked", "unable to open database", "disk i/o error", "database or disk is full")


def database_unavailable(error: BaseException | None) -> bool:
    """True when `error` means the database is down, unreachable or busy — not a bug or bad data."""
    from sqlalchemy import exc

    if error is None:
        return False
    if isinstance(error, (OSError, exc.TimeoutError)):  # connection refused/reset, pool timeout
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig.__cause__, "sqlstate", None)
        if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES):
            return True
        return any(text in str(error.orig).lower() for text in _UNAVAILABLE_SQLITE)
    return database_unavailable(error.__cause__) if error.__cause__ is not error else False


async def database_ready(engine: AsyncEngine, timeout_s: float) -> bool:
    """Whether the database answers a trivial statement within the timeout."""
    import asyncio

    from sqlalchemy import text

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), timeout_s)
    except Exception as error:  # noqa: BLE001 - whatever stops a SELECT 1 means "not ready"
        logging.getLogger("minegraph").warning("readiness probe failed: %r", error)
        return False
    return True
