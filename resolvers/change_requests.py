"""Change requests: an enterprise reports new basic data, a regulator's -001 approves or rejects it.

`changes` holds {"input": the proposed MineInput (GraphQL names, enum names)} and, once approved,
"applied": the FieldChanges the approval wrote. Approval applies the input on top of the mine's
current values (not the values at base_version): a field changed meanwhile is simply overwritten
with the proposal, and the audit records the difference against the current row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, select, update

from auth import audit
from auth.permissions import require_mine_editor, require_own_mine
from auth.validation import normalize_name
from models.enums import ChangeRequestStatus
from models.errors import BadUserInput, Conflict, NotFound, quoted
from models.mine import Mine
from models.registry_io import MineChangeRequest
from resolvers.cursors import BAD_CURSOR, decode_cursor, encode_cursor
from resolvers.mine_apply import apply_mine_changes
from resolvers.mine_edits import plan_mine_changes
from resolvers.mine_writes import one_writer, _write
from resolvers.mines import get_mine, page_size
from auth.scope import jurisdiction

if TYPE_CHECKING:
    from web.context import Context

_CURSOR_KIND = "request"
_NOTHING = "申报内容与当前信息相同，没有需要变更的内容 / the proposal changes nothing: every field equals the current value"


def _note(note: str | None, field: str = "note") -> str | None:
    label = "审核意见" if field == "reviewNote" else "申请说明"
    return None if note is None or not note.strip() else normalize_name(note, field=field, max_length=500,
                                                                         label=label)


def stored_input(request) -> dict[str, Any]:
    return json.loads(request.changes)["input"]


def field_changes(request, mine, trees) -> list[dict[str, Any]]:
    """What the request changes: once approved, what it wrote; else its input against the mine as it
    is now (a rejected or pending request whose input no longer validates lists nothing)."""
    stored = json.loads(request.changes)
    if "applied" in stored:
        return stored["applied"]
    try:
        return plan_mine_changes(mine, stored["input"], trees).changes
    except (BadUserInput, NotFound):
        return []


async def propose(ctx: Context, raw_id: str, values: dict[str, Any], note: str | None):
    mine = await get_mine(ctx, raw_id)
    require_own_mine(ctx.user, mine)
    # Valid against the current mine; the enterprise cannot move itself out of its county's reach.
    plan = plan_mine_changes(mine, values, ctx.trees, scope=ctx.scope)
    if not plan.changes:
        raise BadUserInput(_NOTHING)
    now = datetime.now(UTC)
    note = _note(note)
    stored = json.dumps({"input": values}, ensure_ascii=False, sort_keys=True)
    async with one_writer(ctx.engine), ctx.engine.begin() as conn:
        request_id = (await conn.execute(insert(MineChangeRequest).values(
            mine_id=mine.id, changes=stored, base_version=mine.version, status=ChangeRequestStatus.PENDING.value,
            note=note, proposed_by=ctx.user.username, proposed_at=now,
        ).returning(MineChangeRequest.id))).scalar_one()
        await audit.record(
            conn, "mine.change_proposed", account_id=ctx.user.account_id, username=ctx.user.username,
            mine_id=mine.id, field="changeRequest", new={"id": request_id, "changes": plan.changes, "note": note},
            request_id=ctx.request_id, at=now,
        )
        return (await conn.execute(select(MineChangeRequest).where(MineChangeRequest.id == request_id))).first()


def _parse_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFound(f"未找到变更申请 {quoted(raw)} / change request {quoted(raw)} not found")
    return int(raw)


async def get_request(ctx: Context, raw_id: str):
    """A change request of a mine inside the caller's jurisdiction, else NOT_FOUND."""
    statement = (
        select(MineChangeRequest).join(Mine, Mine.id == MineChangeRequest.mine_id)
        .where(MineChangeRequest.id == _parse_id(raw_id), jurisdiction(ctx.scope))
    )
    async with ctx.engine.connect() as conn:
        row = (await conn.execute(statement)).first()
    if row is None:
        raise NotFound(f"未找到变更申请 {quoted(raw_id)} / change request {quoted(raw_id)} not found")
    return row


async def review(ctx: Context, raw_id: str, approve: bool, note: str | None):
    request = await get_request(ctx, raw_id)
    mine = await get_mine(ctx, str(request.mine_id))
    require_mine_editor(ctx.user, mine)
    note = _note(note, "reviewNote")
    status = ChangeRequestStatus.APPROVED if approve else ChangeRequestStatus.REJECTED
    pending = and_(MineChangeRequest.id == request.id,
                   MineChangeRequest.status == ChangeRequestStatus.PENDING.value)

    async def decide(conn, now, applied: list | None) -> None:
        stored = json.loads(request.changes)
        if applied is not None:
            stored["applied"] = applied
        done = (await conn.execute(update(MineChangeRequest).where(pending).values(
            status=status.value, reviewed_by=ctx.user.username, reviewed_at=now, review_note=note,
            changes=json.dumps(stored, ensure_ascii=False, sort_keys=True),
        ))).rowcount
        if done != 1:
            raise Conflict(f"该变更申请已审核 / change request {request.id} has already been reviewed")
        await audit.record(
            conn, "mine.change_reviewed", account_id=ctx.user.account_id, username=ctx.user.username,
            mine_id=request.mine_id, field="changeRequest",
            new={"id": request.id, "status": status.value, "note": note}, request_id=ctx.request_id, at=now,
        )

    if request.status != ChangeRequestStatus.PENDING.value:
        raise Conflict(f"该变更申请已审核 / change request {request.id} has already been reviewed")
    if approve:
        async def change(conn, locked, now) -> None:
            plan = plan_mine_changes(locked, stored_input(request), ctx.trees, scope=ctx.scope)
            await apply_mine_changes(conn, ctx, locked, plan.columns, plan.changes, now)
            await decide(conn, now, plan.changes)

        await _write(ctx, mine.id, None, change)
    else:
        async with one_writer(ctx.engine), ctx.engine.begin() as conn:
            await decide(conn, datetime.now(UTC), None)
    async with ctx.engine.connect() as conn:
        return (await conn.execute(select(MineChangeRequest).where(MineChangeRequest.id == request.id))).first()


@dataclass
class RequestPage:
    rows: list
    cursors: list[str]
    has_next_page: bool
    total_count: int


async def request_page(ctx: Context, status: ChangeRequestStatus | None, first: int | None,
                       after: str | None) -> RequestPage:
    """Requests of the mines in the caller's jurisdiction, newest first (keyset on the id)."""
    first = page_size(ctx, first)
    secret = ctx.settings.resolved_secret_key()
    conditions = [jurisdiction(ctx.scope)]
    if status is not None:
        conditions.append(MineChangeRequest.status == status.value)
    listed = select(MineChangeRequest).join(Mine, Mine.id == MineChangeRequest.mine_id)
    page_conditions = list(conditions)
    if after is not None:
        kind, last = decode_cursor(secret, after)
        if kind != _CURSOR_KIND or not last.isdigit():
            raise BadUserInput(BAD_CURSOR)  # a mine list's cursor
        page_conditions.append(MineChangeRequest.id < int(last))
    statement = listed.where(and_(*page_conditions)).order_by(MineChangeRequest.id.desc()).limit(first + 1)
    counted = (select(func.count()).select_from(MineChangeRequest).join(Mine, Mine.id == MineChangeRequest.mine_id)
               .where(and_(*conditions)))
    async with ctx.engine.connect() as conn:
        rows = (await conn.execute(statement)).all()
        total = (await conn.execute(counted)).scalar_one()
    page = rows[:first]
    return RequestPage(page, [encode_cursor(secret, _CURSOR_KIND, str(r.id)) for r in page], len(rows) > first, total)


async def pending_count(ctx: Context) -> int:
    statement = (select(func.count()).select_from(MineChangeRequest).join(Mine, Mine.id == MineChangeRequest.mine_id)
                 .where(jurisdiction(ctx.scope), MineChangeRequest.status == ChangeRequestStatus.PENDING.value))
    async with ctx.engine.connect() as conn:
        return (await conn.execute(statement)).scalar_one()
