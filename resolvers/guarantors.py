"""Quick fill: the people this account entered as guarantors before."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import select

from models.audit import AuditLog
from models.enums import GuarantorLevel, UserTier
from models.errors import Forbidden

if TYPE_CHECKING:
    from resolvers.context import Context

SUGGESTIONS = 20
SCANNED = 1000  # recent entries looked at; a county enters a few hundred at most


def _may_enter(ctx: Context, level: GuarantorLevel) -> bool:
    user = ctx.user
    if level is GuarantorLevel.ENTERPRISE:
        return user.tier is UserTier.ENTERPRISE
    return user.guarantor_level is level


async def suggestions(ctx: Context, level: GuarantorLevel) -> list[dict]:
    """Distinct (name, position, phone) this account entered at this level, most recent first."""
    if not _may_enter(ctx, level):
        raise Forbidden(f"this account does not fill in {level.value} guarantors")
    statement = (
        select(AuditLog.new_value, AuditLog.at)
        .where(
            AuditLog.account_id == ctx.user.account_id,
            AuditLog.action == "mine.guarantor",
            AuditLog.field == f"guarantor.{level.value}",
        )
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(SCANNED)
    )
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    seen: dict[tuple[str, str, str], dict] = {}
    for new_value, at in rows:
        person = json.loads(new_value)
        key = (person["name"], person["position"], person["phone"])
        if key not in seen:
            seen[key] = {**person, "last_used_at": at}
            if len(seen) == SUGGESTIONS:
                break
    return list(seen.values())
