"""Changes to a mine: location and guarantors, versioned and audited.

Every write is one transaction whose first statement bumps the mine's version
(and checks `expectedVersion`). That statement takes the write lock up front —
SQLite's database lock, PostgreSQL's row lock — so concurrent writers to a
mine queue behind it and none reads a value another is about to replace.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, update

from auth import audit
from auth.permissions import require_guarantor_editor, require_location_editor
from auth.scope import jurisdiction
from auth.validation import normalize_name, normalize_phone
from models import geo
from models.enums import Datum, GuarantorLevel
from models.errors import BadUserInput, Conflict
from models.mine import Guarantor, Mine
from resolvers.location_history import location_value
from resolvers.mines import get_mine

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncConnection

    from web.context import Context


# On SQLite, one write transaction at a time per process: the others queue here, without a time
# limit, rather than in SQLite's busy handler, where a lock holder starved of CPU by its own event
# loop made them give up after the busy timeout ("database is locked").
# One lock per engine (an engine lives in one event loop; a lock must not be shared across loops).
_SQLITE_WRITERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def one_writer(engine):
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    return _SQLITE_WRITERS.setdefault(engine.sync_engine, asyncio.Lock())


def version_conflict(current: int | None, expected: int | None) -> Conflict:
    return Conflict(f"矿山信息已被修改 / the mine changed since you read it: it is at version {current}, "
                    f"not {expected}; reload it and try again")


async def _write(
    ctx: Context, mine_id: int, expected_version: int | None,
    change: Callable[[AsyncConnection, object, object], Awaitable[None]],
):
    """Run `change(conn, locked_row, now)` after the version bump; return the row as
    this write left it (read under the same lock, so a later writer cannot blur it)."""
    if expected_version is not None and expected_version < 1:
        raise BadUserInput("预期版本号 expectedVersion 从 1 开始 / expectedVersion starts at 1")
    now = datetime.now(UTC)
    bump = (
        update(Mine)
        .where(Mine.id == mine_id, jurisdiction(ctx.scope))
        .values(version=Mine.version + 1, updated_at=now)
        .returning(*Mine.__table__.c)
    )
    if expected_version is not None:
        bump = bump.where(Mine.version == expected_version)
    async with one_writer(ctx.engine), ctx.engine.begin() as conn:
        locked = (await conn.execute(bump)).first()
        if locked is None:
            current = (await conn.execute(select(Mine.version).where(Mine.id == mine_id))).scalar()
            raise version_conflict(current, expected_version)
        await change(conn, locked, now)
        written = (await conn.execute(select(Mine).where(Mine.id == mine_id))).first()
    ctx.loaders.forget_mine(mine_id)
    return written


async def update_location(
    ctx: Context, raw_id: str, lat: float, lng: float, datum: Datum, expected_version: int | None
):
    mine = await get_mine(ctx, raw_id)
    require_location_editor(ctx.user, mine)
    point = checked_point(ctx, mine.county_code, lat, lng, datum)

    async def change(conn, locked, now) -> None:
        await write_location(conn, ctx, locked, point, now)

    return await _write(ctx, mine.id, expected_version, change)


def checked_point(ctx, county_code: str, lat: float, lng: float, datum: Datum) -> dict:
    """A location as sent, checked and converted: the columns it writes plus what was sent."""
    if not (math.isfinite(lat) and math.isfinite(lng)):
        raise BadUserInput(geo.NOT_FINITE)
    geo.check_in_china(lat, lng)
    wgs_lat, wgs_lng = geo.to_wgs84(lat, lng, datum.value)
    inside = geo.inside_county(county_code, wgs_lat, wgs_lng, ctx.settings.county_tolerance_km)
    return {"lat": wgs_lat, "lng": wgs_lng, "source_datum": datum.value, "inside_county": inside,
            "sent": (lat, lng)}


async def write_location(conn: AsyncConnection, ctx, locked, point: dict, now, import_id: int | None = None,
                         audits: list | None = None) -> None:
    """Store a checked point (`checked_point`) on the locked mine and audit it, inside the caller's
    transaction (a mutation's or an import's; `audits`: see `auth.audit.write`)."""
    columns = {k: v for k, v in point.items() if k != "sent"}
    await conn.execute(update(Mine).where(Mine.id == locked.id).values(**columns, location_updated_at=now))
    # Both sides as Mine.location shows them, each datum under its own name (resolvers/location_history.py).
    old = None if locked.lat is None else location_value(
        locked.lat, locked.lng, locked.source_datum, locked.inside_county)
    await audit.write(conn, [audit.entry(
        "mine.location", account_id=ctx.user.account_id, username=ctx.user.username,
        mine_id=locked.id, field="location", old=old,
        new=location_value(point["lat"], point["lng"], point["source_datum"], point["inside_county"],
                           sent=point["sent"]),
        request_id=ctx.request_id, at=now, mine_version=locked.version, import_id=import_id,
    )], into=audits)


async def clear_location(conn: AsyncConnection, ctx, locked, now, import_id: int | None = None,
                         audits: list | None = None) -> None:
    """An import's 清空 of the location columns: the mine has no location again (audited)."""
    await conn.execute(update(Mine).where(Mine.id == locked.id).values(
        lat=None, lng=None, source_datum=None, inside_county=None, location_updated_at=now))
    await audit.write(conn, [audit.entry(
        "mine.location", account_id=ctx.user.account_id, username=ctx.user.username, mine_id=locked.id,
        field="location", old=location_value(locked.lat, locked.lng, locked.source_datum, locked.inside_county),
        new=None, request_id=ctx.request_id, at=now, mine_version=locked.version, import_id=import_id,
    )], into=audits)


async def set_guarantor(
    ctx: Context, raw_id: str, level: GuarantorLevel, name: str, position: str, phone: str,
    expected_version: int | None,
):
    mine = await get_mine(ctx, raw_id)
    require_guarantor_editor(ctx.user, mine, level)
    person = {
        "name": normalize_name(name, field="name"),
        "position": normalize_name(position, field="position"),
        "phone": normalize_phone(phone),
    }

    async def change(conn, locked, now) -> None:
        await write_guarantor(conn, ctx, locked, level, person, now)

    return await _write(ctx, mine.id, expected_version, change)


async def write_guarantor(
    conn: AsyncConnection, ctx, locked, level: GuarantorLevel, person: dict | None, now,
    import_id: int | None = None, audits: list | None = None,
) -> None:
    """Set (a normalised {name, position, phone}) or clear (None: an import's 清空) one guarantor
    level of the locked mine and audit it, inside the caller's transaction."""
    key = (Guarantor.mine_id == locked.id, Guarantor.level == level.value)
    old = (await conn.execute(select(Guarantor).where(*key))).first()
    values = None if person is None else {**person, "updated_at": now, "entered_by": ctx.user.account_id}
    if person is None:
        if old is None:
            return
        await conn.execute(delete(Guarantor).where(*key))
    elif old is None:
        await conn.execute(insert(Guarantor).values(mine_id=locked.id, level=level.value, **values))
    else:
        await conn.execute(update(Guarantor).where(*key).values(**values))
    await audit.write(conn, [audit.entry(
        "mine.guarantor", account_id=ctx.user.account_id, username=ctx.user.username,
        mine_id=locked.id, field=f"guarantor.{level.value}",
        old=None if old is None else {"name": old.name, "position": old.position, "phone": old.phone},
        new=person, request_id=ctx.request_id, at=now, mine_version=locked.version, import_id=import_id,
    )], into=audits)
