"""The kept report of an import (`mine_import`): how many rows each action took, the row that records
a dry run or an applied import, and reading them back (`imports`, `importReport(id)`) inside the
caller's scope. resolvers/imports.py runs the import itself."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from models.enums import ImportAction
from models.errors import BadUserInput
from models.registry_io import MineImport

if TYPE_CHECKING:
    from resolvers.import_plan import RowPlan


def count_actions(plans: list[RowPlan]) -> dict[str, int]:
    named = {ImportAction.CREATE: "created", ImportAction.UPDATE: "changed",
             ImportAction.UNCHANGED: "unchanged", ImportAction.REJECTED: "rejected"}
    counts = dict.fromkeys(named.values(), 0)
    for plan in plans:
        counts[named[plan.action]] += 1
    return counts


def _report_row(ctx, file_name, counts, now, applied: bool, plans) -> dict:
    return {"at": now, "account_id": ctx.user.account_id, "username": ctx.user.username,
            "scope_key": ctx.scope.key, "file_name": file_name, "applied": applied, **counts,
            "report": json.dumps([p.report for p in plans], ensure_ascii=False)}


async def record(ctx, file_name, plans, counts, now, applied: bool, conn=None) -> int:
    statement = insert(MineImport).values(**_report_row(ctx, file_name, counts, now, applied, plans))
    if conn is not None:
        return (await conn.execute(statement.returning(MineImport.id))).scalar_one()
    async with ctx.engine.begin() as own:
        return (await own.execute(statement.returning(MineImport.id))).scalar_one()


async def list_imports(ctx, first: int) -> list:
    """Past imports the caller's scope made (newest first); a regulator sees those of its scope only."""
    if not 0 <= first <= 100:
        raise BadUserInput(f"条数 first 必须在 0 到 100 之间（当前为 {first}） / first must be between 0 and 100 "
                           f"(got {first})")
    statement = (select(MineImport).where(MineImport.scope_key == ctx.scope.key)
                 .order_by(MineImport.at.desc(), MineImport.id.desc()).limit(first))
    async with ctx.engine.connect() as conn:
        return (await conn.execute(statement)).all()


async def get_import(ctx, raw_id: str):
    if not str(raw_id).isdigit() or len(str(raw_id)) > 18:
        return None
    statement = select(MineImport).where(MineImport.id == int(raw_id), MineImport.scope_key == ctx.scope.key)
    async with ctx.engine.connect() as conn:
        return (await conn.execute(statement)).first()
