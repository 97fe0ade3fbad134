"""The regulators' basic-data mutations: createMine, updateMine, revokeMine, verifyMine.

Rights: the -001 account of the mine's county, city, province or the nation
(auth/permissions.require_mine_editor); a mine outside the caller's jurisdiction is
NOT_FOUND exactly as an unknown id. Each is one transaction (resolvers/mine_writes._write
for an existing mine: the version step and `expectedVersion` check come first).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from auth import audit
from auth.permissions import require_mine_editor
from auth.sessions import revoke_sessions
from auth.validation import normalize_name
from models.account import Account
from models.enums import VerificationState
from models.errors import BadUserInput
from models.mine import Mine
from resolvers.mine_apply import apply_mine_changes, insert_mine
from resolvers.mine_edits import plan_mine_changes
from resolvers.mine_writes import one_writer, _write, version_conflict
from resolvers.mines import get_mine

if TYPE_CHECKING:
    from web.context import Context

# Stored in place of a revoked mine's account password hash: no password verifies against it
# (auth/passwords.verify_password answers False for a malformed hash), so login refuses.
DISABLED_PASSWORD = "!revoked"


async def create_mine(ctx: Context, values: dict[str, Any]):
    """(the new mine's row, its enterprise account's one-time password)."""
    require_mine_editor(ctx.user)
    plan = plan_mine_changes(None, values, ctx.trees, scope=ctx.scope)
    now = datetime.now(UTC)
    async with one_writer(ctx.engine), ctx.engine.begin() as conn:
        return await insert_mine(conn, ctx, plan.columns, now)


async def update_mine(ctx: Context, raw_id: str, values: dict[str, Any], expected_version: int | None):
    """One version step for any number of changed fields; nothing changed: no step, no write."""
    mine = await get_mine(ctx, raw_id)
    require_mine_editor(ctx.user, mine)
    if not plan_mine_changes(mine, values, ctx.trees, scope=ctx.scope).changes:
        if expected_version is not None and expected_version != mine.version:
            raise version_conflict(mine.version, expected_version)
        return mine

    async def change(conn, locked, now) -> None:
        # Planned again on the locked row: the audit's old values are the ones replaced.
        plan = plan_mine_changes(locked, values, ctx.trees, scope=ctx.scope)
        await apply_mine_changes(conn, ctx, locked, plan.columns, plan.changes, now)

    return await _write(ctx, mine.id, expected_version, change)


async def revoke_mine(ctx: Context, raw_id: str, reason: str):
    """作废: the mine leaves every list and count; its account can no longer log in."""
    mine = await get_mine(ctx, raw_id)
    require_mine_editor(ctx.user, mine)
    reason = normalize_name(reason, field="reason", max_length=200, label="作废原因")

    async def change(conn, locked, now) -> None:
        await conn.execute(update(Mine).where(Mine.id == locked.id).values(revoked_at=now, revoked_reason=reason))
        accounts = (await conn.execute(select(Account.id).where(Account.mine_id == locked.id))).scalars().all()
        for account_id in accounts:
            await conn.execute(update(Account).where(Account.id == account_id).values(
                password_hash=DISABLED_PASSWORD, wechat_openid=None))
            await revoke_sessions(conn, account_id)
        await audit.record(
            conn, "mine.revoke", account_id=ctx.user.account_id, username=ctx.user.username, mine_id=locked.id,
            field="revoked", old=None, new={"reason": reason}, request_id=ctx.request_id, at=now,
        )

    return await _write(ctx, mine.id, None, change)


async def verify_mine(ctx: Context, raw_id: str, expected_version: int, note: str | None):
    """核实: the current version's basic data is verified. No version step (the data is unchanged);
    the data version still moves (its trigger watches every update of a mine)."""
    if expected_version < 1:
        raise BadUserInput("预期版本号 expectedVersion 从 1 开始 / expectedVersion starts at 1")
    mine = await get_mine(ctx, raw_id)
    require_mine_editor(ctx.user, mine)
    note = None if note is None or not note.strip() else normalize_name(note, field="note", max_length=200, label="核实说明")
    now = datetime.now(UTC)
    verified = (
        update(Mine)
        .where(Mine.id == mine.id, Mine.version == expected_version, Mine.revoked_at.is_(None))
        .values(verification_state=VerificationState.VERIFIED.value, verified_at=now,
                verified_by=ctx.user.username, verification_note=note)
        .returning(*Mine.__table__.c)
    )
    async with one_writer(ctx.engine), ctx.engine.begin() as conn:
        row = (await conn.execute(verified)).first()
        if row is None:
            current = (await conn.execute(select(Mine.version).where(Mine.id == mine.id))).scalar()
            raise version_conflict(current, expected_version)
        await audit.record(
            conn, "mine.verify", account_id=ctx.user.account_id, username=ctx.user.username, mine_id=mine.id,
            field="verification", old=mine.verification_state,
            new={"state": VerificationState.VERIFIED.value, "version": expected_version, "note": note},
            request_id=ctx.request_id, at=now,
        )
    ctx.loaders.forget_mine(mine.id)
    return row
