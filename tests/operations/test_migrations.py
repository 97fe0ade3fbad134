"""The migrations build exactly the schema the models declare (on this run's database)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table)
from models.db import make_engine
from models.migrate import upgrade


async def test_migrations_and_models_agree(new_database):
    engine = make_engine(new_database().url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            diffs = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), SQLModel.metadata))
    finally:
        await engine.dispose()
    assert diffs == []
