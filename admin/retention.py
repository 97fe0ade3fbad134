"""Audit retention: records older than AUDIT_RETENTION_DAYS (365 by default, never under 180) go.

`purge()` is what `minegraph audit purge` runs; `daily_purge()` runs it once a day
inside a serving process (several instances may each run it: deleting what is
already gone is harmless). Rows go in batches so that a first purge of a large
table never holds the write lock for long. Stale login-failure counters go too.
Each purge that removes audit records leaves one record of its own (`audit.purged`).
Mine changes (`mine.*`) are never purged: they are the registry's own history
(`Mine.history`) and the source of the guarantor quick fill, not a security log.
"""

from __future__ import annotations

import asyncio
import logging
import random
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from auth import audit
from auth.lockout import purge_counters
from models.audit import AuditLog

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncEngine

    from settings import Settings

log = logging.getLogger("minegraph.audit")

BATCH = 5000
DAY_S = 24 * 3600.0
FIRST_RUN_DELAY_S = (300.0, 900.0)  # after start-up, so restarts do not all purge at once


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    audit_rows: int
    counters: int
    dry_run: bool = False


def cutoff_for(settings: Settings, now: datetime) -> datetime:
    return now - timedelta(days=settings.audit_retention_days)


def _past_retention(cutoff: datetime):
    return (AuditLog.at < cutoff) & AuditLog.action.not_like(r"mine.%")


async def purge(engine: AsyncEngine, settings: Settings, *, now: datetime | None = None, dry_run: bool = False,
                operator: str | None = None) -> PurgeReport:
    """Delete audit records older than the retention period, but mine changes (or, dry_run, count them)."""
    now = now or datetime.now(UTC)
    cutoff = cutoff_for(settings, now)
    if dry_run:
        async with engine.connect() as conn:
            count = await conn.scalar(select(func.count()).select_from(AuditLog).where(_past_retention(cutoff)))
        return PurgeReport(cutoff, count or 0, 0, dry_run=True)
    deleted = 0
    while True:
        async with engine.begin() as conn:
            batch = select(AuditLog.id).where(_past_retention(cutoff)).order_by(AuditLog.id).limit(BATCH)
            done = (await conn.execute(delete(AuditLog).where(AuditLog.id.in_(batch.scalar_subquery())))).rowcount
        deleted += done
        if done < BATCH:
            break
    async with engine.begin() as conn:
        counters = await purge_counters(conn, settings, now)
        if deleted:
            await audit.record(conn, "audit.purged", at=now, new={
                "before": cutoff.isoformat(), "deleted": deleted, "retentionDays": settings.audit_retention_days,
                "by": operator or "service",
            })
    return PurgeReport(cutoff, deleted, counters)


async def run_daily(engine: AsyncEngine, settings: Settings) -> None:
    """Purge a few minutes after start-up, then every 24 hours, until cancelled."""
    await asyncio.sleep(random.uniform(*FIRST_RUN_DELAY_S))
    while True:
        try:
            report = await purge(engine, settings)
            if report.audit_rows or report.counters:
                log.info("audit retention: deleted %d records before %s and %d stale login counters",
                         report.audit_rows, report.cutoff.isoformat(), report.counters)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failed purge is retried tomorrow; serving goes on
            log.exception("audit retention purge failed")
        await asyncio.sleep(DAY_S)


@asynccontextmanager
async def daily_purge(engine: AsyncEngine, settings: Settings) -> AsyncIterator[None]:
    """For an app's lifespan: `async with daily_purge(engine, settings): yield`."""
    task = asyncio.get_running_loop().create_task(run_daily(engine, settings), name="audit-retention")
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
