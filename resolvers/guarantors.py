"""Quick fill: the people this account entered as guarantors before."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import cast, func, select, union_all
from sqlalchemy.dialects.postgresql import JSONB

from models.audit import AuditLog
from models.enums import GuarantorLevel, UserTier
from models.errors import Forbidden
from models.mine import Guarantor

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from web.context import Context

SUGGESTIONS = 20
SCANNED = 1000  # recent entries looked at per source; a county enters a few hundred at most


def _may_enter(ctx: Context, level: GuarantorLevel) -> bool:
    user = ctx.user
    if level is GuarantorLevel.ENTERPRISE:
        return user.tier is UserTier.ENTERPRISE
    return user.guarantor_level is level


def _json_text(column, key: str, dialect: str) -> ColumnElement[str]:
    """A string member of a JSON document stored as text (audit values are JSON text)."""
    if dialect == "postgresql":
        return cast(column, JSONB)[key].astext
    return func.json_extract(column, f"$.{key}")  # SQLite's JSON1, built in


def suggestions_statement(account_id: int, level: GuarantorLevel, dialect: str):
    """Distinct (name, position, phone) with the latest time each was used, most recent first.

    Two sources: the account's audit trail (people stay suggestible after they are replaced
    on a mine) and the guarantors it is recorded as having entered (`entered_by`), which
    covers data loaded without audit records, such as the demo seed or an import."""
    current = (
        select(Guarantor.updated_at.label("at"), Guarantor.name, Guarantor.position, Guarantor.phone)
        .where(Guarantor.entered_by == account_id, Guarantor.level == level.value)
        .order_by(Guarantor.updated_at.desc())
        .limit(SCANNED)
    )
    value = AuditLog.new_value
    audited = (
        select(AuditLog.at, *(_json_text(value, key, dialect).label(key) for key in ("name", "position", "phone")))
        .where(
            AuditLog.account_id == account_id,
            AuditLog.action == "mine.guarantor",
            AuditLog.field == f"guarantor.{level.value}",
        )
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(SCANNED)
    )
    # Each branch is a subquery: SQLite refuses ORDER BY/LIMIT on a bare part of a compound select.
    used = union_all(current.subquery().select(), audited.subquery().select()).subquery()
    last = func.max(used.c.at).label("last_used_at")
    return (
        select(used.c.name, used.c.position, used.c.phone, last)
        .group_by(used.c.name, used.c.position, used.c.phone)
        .order_by(last.desc(), used.c.name, used.c.position, used.c.phone)
        .limit(SUGGESTIONS)
    )


async def suggestions(ctx: Context, level: GuarantorLevel) -> list[dict]:
    """Distinct (name, position, phone) this account entered at this level, most recent first."""
    if not _may_enter(ctx, level):
        raise Forbidden(f"此账号不填写{level.label}包保责任人 / this account does not fill in {level.value} guarantors")
    statement = suggestions_statement(ctx.user.account_id, level, ctx.engine.dialect.name)
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
    return [row._asdict() for row in rows]
