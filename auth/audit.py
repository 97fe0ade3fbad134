"""Append audit records inside the caller's transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from models.audit import AuditLog

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection


def as_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def entry(
    action: str,
    *,
    account_id: int | None = None,
    username: str | None = None,
    mine_id: int | None = None,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    request_id: str | None = None,
    at: datetime | None = None,
    client: str | None = None,
    import_id: int | None = None,
    mine_version: int | None = None,
) -> dict[str, Any]:
    """One audit record's columns (every key, so that many of them go in one executemany)."""
    return {
        "at": at or datetime.now(UTC), "account_id": account_id, "username": username, "action": action,
        "mine_id": mine_id, "field": field, "old_value": as_json(old), "new_value": as_json(new),
        "request_id": request_id, "client": client[:64] if client else None,
        "import_id": import_id, "mine_version": mine_version,
    }


async def write(conn: AsyncConnection, entries: list[dict[str, Any]], *, into: list | None = None) -> None:
    """Store `entry` dicts in one statement (an executemany: an import's thousands of changes), or,
    with `into`, add them to a batch that the caller writes later with the others, in order."""
    if into is not None:
        into.extend(entries)
    elif entries:
        await conn.execute(insert(AuditLog), entries)


async def record(conn: AsyncConnection, action: str, **fields: Any) -> None:
    """One audit record now (the arguments of `entry`)."""
    await write(conn, [entry(action, **fields)])
