"""Load the reference tables and the deterministic demo dataset into a database.

One transaction writes everything, so a database holds either the whole demo
dataset or none of it. The dataset's parameters are recorded in dataset_info:
re-running with the same ones changes nothing, different ones are an error
(the data would otherwise silently stop matching what the user asked for).

Rows are generated as plain tuples and bulk-inserted: through the driver's
executemany on SQLite (1,000,000 mines in well under two minutes) and COPY on
PostgreSQL (asyncpg); any other dialect falls back to SQLAlchemy Core.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from auth.passwords import hash_password
from models import Account, DatasetInfo, Guarantor, Mine, MineralType, Region
from models.migrate import upgrade
from models.tally import bulk_load
from seed.generate import ACCOUNT_COLUMNS, GUARANTOR_COLUMNS, MINE_COLUMNS, DemoGenerator
from seed.reference import mineral_rows, region_rows

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

KEY_MINES = "demo.mines"
KEY_SEED = "demo.seed"
BATCH_MINES = 50_000  # mines per generated batch (accounts and guarantors ride along)


class DatasetMismatch(RuntimeError):
    """The database already holds data other than the dataset asked for."""


@dataclass(frozen=True)
class SeedReport:
    created: bool  # False: the same dataset was already loaded and nothing changed
    mines: int
    accounts: int
    guarantors: int
    located: int
    seconds: float

    def summary(self) -> str:
        verb = "loaded" if self.created else "already loaded, nothing changed:"
        return (f"demo dataset {verb} {self.mines} mines, {self.accounts} accounts, "
                f"{self.guarantors} guarantors, {self.located} located ({self.seconds:.1f} s)")


# --------------------------------------------------------------------------- writers

_EPOCH = datetime(1970, 1, 1)


def _sqlite_stamp(seconds: int) -> str:
    # The exact text SQLAlchemy stores for its DateTime on SQLite (naive UTC), so
    # that rows written here compare and sort like rows the service writes.
    return (_EPOCH + timedelta(seconds=seconds)).isoformat(" ", "microseconds")


def _aware_stamp(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class _Writer:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self.driver = conn.dialect.driver
        self._raw = None

    @property
    def stamp(self):
        return _sqlite_stamp if self.dialect == "sqlite" else _aware_stamp

    async def insert(self, table, columns: Sequence[str], rows: list[tuple]) -> None:
        if not rows:
            return
        if self.dialect == "sqlite":
            sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
                   f"VALUES ({', '.join('?' * len(columns))})")
            await self.conn.exec_driver_sql(sql, rows)
        elif self.dialect == "postgresql" and self.driver == "asyncpg":
            if self._raw is None:
                # The SQLAlchemy connection has already begun its transaction on
                # this asyncpg connection (the dataset_info read), so COPY joins it.
                self._raw = (await self.conn.get_raw_connection()).driver_connection
            await self._raw.copy_records_to_table(table.name, records=rows, columns=list(columns))
        else:
            await self.conn.execute(table.insert(), [dict(zip(columns, row)) for row in rows])

    async def finish(self) -> None:
        if self.dialect == "postgresql":
            # Explicit ids leave the serial sequences behind; move them past the data.
            for table in ("mine", "account"):
                await self.conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")


# --------------------------------------------------------------------------- reference


async def _insert_reference(conn: AsyncConnection, writer: _Writer) -> None:
    """Insert the reference rows a database lacks (all of them the first time; later
    only what a corrected data file adds). Existing rows are never rewritten here."""
    for table, rows in ((Region.__table__, region_rows()), (MineralType.__table__, mineral_rows())):
        present = set((await conn.execute(select(table.c.code))).scalars())
        missing = [r for r in rows if r["code"] not in present]
        if missing:
            columns = list(missing[0])
            await writer.insert(table, columns, [tuple(r[c] for c in columns) for r in missing])


async def seed_reference(engine: AsyncEngine) -> None:
    """Migrate, then load the region and mineral trees (adding rows they lack)."""
    await upgrade(engine)
    async with engine.begin() as conn:
        await _insert_reference(conn, _Writer(conn))


async def held(engine: AsyncEngine) -> tuple[int, int]:
    """Migrate, then count the mines and accounts the database holds (`seed --if-empty`)."""
    await upgrade(engine)
    async with engine.connect() as conn:
        count = func.count()
        return (await conn.scalar(select(count).select_from(Mine)),
                await conn.scalar(select(count).select_from(Account)))


# --------------------------------------------------------------------------- demo


async def _counts(conn: AsyncConnection) -> tuple[int, int, int, int]:
    count = func.count()
    return (
        await conn.scalar(select(count).select_from(Mine)),
        await conn.scalar(select(count).select_from(Account)),
        await conn.scalar(select(count).select_from(Guarantor)),
        await conn.scalar(select(count).select_from(Mine).where(Mine.lat.is_not(None))),
    )


def _start_over_hint(conn: AsyncConnection) -> str:
    url = conn.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        return (f"To load a different dataset, start over with an empty database: stop the server and delete "
                f"{url.database} (with its -wal and -shm files), then seed again.")
    return ("To load a different dataset, start over with an empty database: drop and re-create "
            f"the database {url.database!r}, then seed again.")


async def _check_loaded(conn: AsyncConnection, mines: int, seed: int) -> bool:
    """True when exactly this dataset is loaded; raises DatasetMismatch for any other data."""
    info = dict((await conn.execute(select(DatasetInfo.key, DatasetInfo.value))).all())
    loaded = (info.get(KEY_MINES), info.get(KEY_SEED))
    if loaded == (str(mines), str(seed)):
        return True
    if loaded != (None, None):
        raise DatasetMismatch(
            f"The database already holds the demo dataset seeded with --mines {loaded[0]} --seed {loaded[1]}; "
            f"you asked for --mines {mines} --seed {seed}. Seeding never rewrites a loaded dataset. "
            f"Re-run with --mines {loaded[0]} --seed {loaded[1]} to keep it. " + _start_over_hint(conn))
    n_mines, n_accounts, _, _ = await _counts(conn)
    if n_mines or n_accounts:
        raise DatasetMismatch(
            f"The database already holds {n_mines} mines and {n_accounts} accounts that did not come from "
            f"the demo seed, so the demo dataset cannot be added to it. " + _start_over_hint(conn))
    return False


async def _load_batches(writer: _Writer, batches) -> tuple[int, int, int]:
    """Write every batch: (accounts, guarantors, located mines) written.

    Per batch: mines, then their accounts (which reference them), then their
    guarantors (which reference both), so foreign keys hold at every insert.
    The next batch is generated in a worker thread while this one is written.
    That pays on PostgreSQL, whose server works in its own process (about a
    quarter off at 1,000,000 mines); on SQLite parameter binding holds the GIL,
    so there it gains little.
    """
    n_accounts = n_guarantors = n_located = 0
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
    try:
        while (batch := await upcoming) is not None:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            await writer.insert(Mine.__table__, MINE_COLUMNS, batch.mines)
            await writer.insert(Account.__table__, ACCOUNT_COLUMNS, batch.accounts)
            await writer.insert(Guarantor.__table__, GUARANTOR_COLUMNS, batch.guarantors)
            n_accounts += len(batch.accounts)
            n_guarantors += len(batch.guarantors)
            n_located += batch.located
    finally:
        await asyncio.wait([upcoming])  # never leave the generator thread running behind us
    return n_accounts, n_guarantors, n_located


async def seed_demo(engine: AsyncEngine, *, mines: int = 6000, seed: int = 2022, password: str) -> SeedReport:
    """Load the demo dataset (and the reference tables) unless this exact dataset is already loaded."""
    if mines < 0:
        raise ValueError("--mines must not be negative")
    started = time.perf_counter()
    await upgrade(engine)
    # One argon2 hash shared by every demo account: hashing per account would take hours.
    password_hash = await asyncio.to_thread(hash_password, password)
    async with engine.begin() as conn:
        if await _check_loaded(conn, mines, seed):
            n_mines, n_accounts, n_guarantors, n_located = await _counts(conn)
            return SeedReport(False, n_mines, n_accounts, n_guarantors, n_located,
                              time.perf_counter() - started)
        writer = _Writer(conn)
        await _insert_reference(conn, writer)
        gen = DemoGenerator(mines=mines, seed=seed, password_hash=password_hash, stamp=writer.stamp)
        await writer.insert(Account.__table__, ACCOUNT_COLUMNS, gen.regulator_accounts)
        async with bulk_load(conn):  # the tally is counted once, after the load
            n_accounts, n_guarantors, n_located = await _load_batches(writer, gen.batches(BATCH_MINES))
        n_accounts += len(gen.regulator_accounts)
        await writer.insert(DatasetInfo.__table__, ("key", "value"),
                            [(KEY_MINES, str(mines)), (KEY_SEED, str(seed))])
        await writer.finish()
    return SeedReport(True, mines, n_accounts, n_guarantors, n_located, time.perf_counter() - started)
