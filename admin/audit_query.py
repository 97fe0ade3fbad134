"""Reading the audit trail for operators (`minegraph audit list`).

Times given without an offset are in TIMEZONE (Asia/Shanghai by default), as
operators read them; a date alone means its midnight for --since and the whole day
for --until. Relative times ("7d", "12h", "30m") count back from now.

Phone numbers in the records' values (guarantor and profile changes store them; a
phone typed as a username is masked when recorded) are shown masked unless
asked otherwise (`--show-phones`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from auth.log_redaction import redact_phones
from auth.validation import mask_phone
from models.audit import AuditLog
from models.errors import BadUserInput, NotFound, quoted
from models.mine import Mine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

MAX_LIMIT = 100_000
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_moment(text: str, zone: ZoneInfo, *, end: bool, now: datetime) -> datetime:
    """An aware datetime from an ISO date/datetime or a relative "7d"/"12h"/"30m"."""
    raw = text.strip()
    relative = _RELATIVE.fullmatch(raw)
    if relative:
        return now - timedelta(**{_UNITS[relative[2]]: float(relative[1])})
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            day = date.fromisoformat(raw)
            start = datetime.combine(day + timedelta(days=1) if end else day, time(), zone)
            return start
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadUserInput(f"无法识别的时间 / cannot read the time {quoted(text)}: give an ISO date (2026-05-01), a date "
                           "and time (2026-05-01T08:30, read in TIMEZONE, or with an offset), or 7d / 12h / 30m "
                           "for that long ago") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@dataclass
class AuditFilter:
    usernames: list[str] | None = None
    actions: list[str] | None = None  # exact names, or prefixes ending in "*" (e.g. "account.*")
    mine: str | None = None  # a mine id or a mine code
    client: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    limit: int = 100  # the newest this many


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    action: str
    account_id: int | None
    username: str | None
    mine_id: int | None
    field: str | None
    old: Any
    new: Any
    request_id: str | None
    client: str | None


def _load(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


async def _mine_id(conn, mine: str) -> int:
    if mine.isdigit():
        return int(mine)
    found = (await conn.execute(select(Mine.id).where(Mine.code == mine))).scalar()
    if found is None:
        raise NotFound(f"未知的矿山编码 / unknown mine code {quoted(mine)}: give a mine id or code, e.g. C5301020001")
    return found


async def query(engine: AsyncEngine, where: AuditFilter) -> list[AuditEntry]:
    if not 1 <= where.limit <= MAX_LIMIT:
        raise BadUserInput(f"条数上限 --limit 必须在 1 到 {MAX_LIMIT:,} 之间 / --limit must be between 1 and {MAX_LIMIT:,}")
    statement = select(AuditLog)
    if where.usernames:
        statement = statement.where(AuditLog.username.in_(where.usernames))
    if where.actions:
        conditions = []
        for action in where.actions:
            if action.endswith("*"):
                prefix = action[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                conditions.append(AuditLog.action.like(prefix + "%", escape="\\"))
            else:
                conditions.append(AuditLog.action == action)
        statement = statement.where(or_(*conditions))
    if where.client:
        statement = statement.where(AuditLog.client == where.client)
    if where.since:
        statement = statement.where(AuditLog.at >= where.since)
    if where.until:
        statement = statement.where(AuditLog.at < where.until)
    order = (AuditLog.at.desc(), AuditLog.id.desc())
    async with engine.connect() as conn:
        if where.mine:
            statement = statement.where(AuditLog.mine_id == await _mine_id(conn, where.mine))
        rows = (await conn.execute(statement.order_by(*order).limit(where.limit))).all()
    return [
        AuditEntry(r.id, r.at, r.action, r.account_id, r.username, r.mine_id, r.field, _load(r.old_value),
                   _load(r.new_value), r.request_id, r.client)
        for r in rows
    ]


# --------------------------------------------------------------------------- presentation


def mask_value(value: Any) -> Any:
    """The value with phones masked: every "phone" entry, and phone-like text anywhere."""
    if isinstance(value, dict):
        return {k: (mask_phone(v) if k == "phone" and isinstance(v, str) else mask_value(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, str):
        return redact_phones(value)
    return value


def as_json_line(entry: AuditEntry, zone: ZoneInfo, *, show_phones: bool = False) -> str:
    shown = (lambda v: v) if show_phones else mask_value
    return json.dumps({
        "id": entry.id, "at": entry.at.astimezone(zone).isoformat(), "action": entry.action,
        "accountId": entry.account_id, "username": shown(entry.username), "mineId": entry.mine_id,
        "field": entry.field, "old": shown(entry.old), "new": shown(entry.new), "requestId": entry.request_id,
        "client": entry.client,
    }, ensure_ascii=False)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if not isinstance(value, str) else value


HEADER = f"{'at':<19}  {'action':<30}  {'username':<14}  {'mine':>7}  {'client':<15}  details"


def as_table_line(entry: AuditEntry, zone: ZoneInfo, *, show_phones: bool = False) -> str:
    shown = (lambda v: v) if show_phones else mask_value
    details = []
    if entry.field:
        details.append(entry.field)
    if entry.old is not None:
        details.append(f"{_compact(shown(entry.old))} →")
    if entry.new is not None:
        details.append(_compact(shown(entry.new)))
    at = entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    return (f"{at:<19}  {entry.action:<30}  {shown(entry.username) or '-':<14}  {entry.mine_id or '-':>7}  "
            f"{entry.client or '-':<15}  {' '.join(details)}").rstrip()
