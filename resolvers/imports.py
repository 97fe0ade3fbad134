"""Importing a spreadsheet: the one code path behind `minegraph import`, `importMines` and `POST /import`.

read and parse (in a worker thread, a chunk of rows at a time) → plan every row against the mines
in the importer's jurisdiction (resolvers/import_plan.py; the dry run stops here) → apply: every
plan in one transaction, or nothing when any row is rejected. The report, dry run or not, is kept
in `mine_import` (resolvers/import_reports.py); one-time passwords of new mines' accounts are
in the applying answer only, never stored.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import anyio
from sqlalchemy import select, update

from auth import audit
from auth.permissions import require_importer
from auth.scope import jurisdiction
from models.audit import AuditLog
from models.enums import ImportAction
from models.errors import BadUserInput, Conflict
from models.mine import Guarantor, Mine
from models.registry_io import MineImport
from resolvers.import_plan import PERSON_PARTS, audited_field, new_report, plan_row, unknown_code
from resolvers.mine_apply import apply_many_mine_changes, insert_mine
from resolvers.import_plan import CLEAR
from resolvers.import_reports import count_actions, record
from resolvers.mine_writes import clear_location, one_writer, write_guarantor, write_location
from spreadsheets.reading import read_sheet
from spreadsheets.values import parse_row, row_code

if TYPE_CHECKING:
    from resolvers.import_plan import RowPlan

CHUNK = 1000  # rows parsed, looked up and planned together (one statement per chunk)
STALE_EXPORT = ("该矿山在您导出之后已被修改，请重新导出后再导入 / changed since your export: export again")
MOVED_ON = ("导入期间登记数据已被修改，未写入任何内容，请重新导入 / the registry changed while this file was "
            "being imported: nothing was applied, import it again")


@dataclass
class ImportOutcome:
    """What `run_import` did, shaped like a `mine_import` row plus the rows and new passwords."""

    id: int
    applied: bool
    created: int
    changed: int
    unchanged: int
    rejected: int
    file_name: str | None
    username: str
    at: datetime
    rows: list[dict[str, Any]]
    passwords: dict[int, str] = field(default_factory=dict)  # row number → a new account's password


async def upload_import(ctx, upload, apply: bool) -> ImportOutcome:
    """An uploaded file (GraphQL Upload or a form's file field: Starlette's UploadFile)."""
    require_importer(ctx.user)  # before reading a byte of it
    return await run_import(ctx, await upload.read(), upload.filename, apply)


async def run_import(ctx, source, file_name: str | None, apply: bool, keep_passwords=None) -> ImportOutcome:
    """Plan (and with `apply`, write) a spreadsheet as `ctx.user`. Raises BadUserInput for a file
    that cannot be read as the template (missing columns named), Forbidden for a non-importer.
    `keep_passwords(rows)`: called with (username, password) of the new accounts inside the applying
    transaction, before it commits (the CLI's password sheet: admin/password_sheet.py)."""
    require_importer(ctx.user)
    header, rows = await anyio.to_thread.run_sync(read_sheet, source)
    plans: list[RowPlan] = []
    memo: dict = {}  # each distinct cell value's reading, for the whole file (spreadsheets/values.py)
    while True:
        raw = await anyio.to_thread.run_sync(_read_chunk, rows)
        if not raw:
            break
        stored = await _stored(ctx, {code for _, row in raw if (code := row_code(row, header)) is not None})
        parsed = await anyio.to_thread.run_sync(_parse_chunk, raw, header, ctx, memo, stored)
        plans += await _plan_chunk(ctx, parsed, header, stored)
    _reject_repeated_codes(plans, header)
    counts = count_actions(plans)
    apply = apply and counts["rejected"] == 0 and bool(plans)
    now = datetime.now(UTC)
    passwords: dict[int, str] = {}
    if apply:
        import_id, passwords = await _apply(ctx, file_name, plans, counts, now, keep_passwords)
    else:
        import_id = await record(ctx, file_name, plans, counts, now, applied=False)
    return ImportOutcome(import_id, apply, **counts, file_name=file_name, username=ctx.user.username, at=now,
                         rows=[p.report for p in plans], passwords=passwords)


def _read_chunk(rows) -> list:
    return list(islice(rows, CHUNK))


@dataclass
class _Stored:
    """The chunk's mines (by code, in the importer's jurisdiction) and their guarantors (by mine id)."""

    mines: dict[str, Any]
    people: dict[int, list]

    def known(self, code: str | None) -> frozenset:
        """(part, text) of the people a mine has: its cells that hold them are not checked again."""
        mine = self.mines.get(code) if code else None
        if mine is None:
            return frozenset()
        return frozenset([("name", mine.principal_name), ("phone", mine.principal_phone),
                          *((part, getattr(g, part)) for g in self.people[mine.id] for part in PERSON_PARTS)])


async def _stored(ctx, codes: set[str]) -> _Stored:
    if not codes:
        return _Stored({}, {})
    async with ctx.engine.connect() as conn:
        mines = {m.code: m for m in (await conn.execute(
            select(Mine).where(Mine.code.in_(codes), jurisdiction(ctx.scope)))).all()}
        people: dict[int, list] = {m.id: [] for m in mines.values()}
        if people:
            for g in (await conn.execute(select(Guarantor).where(Guarantor.mine_id.in_(people)))).all():
                people[g.mine_id].append(g)
    return _Stored(mines, people)


def _parse_chunk(raw: list, header, ctx, memo: dict, stored: _Stored) -> list:
    return [parse_row(n, row, header, ctx.trees, ctx.scope, memo, stored.known(row_code(row, header)))
            for n, row in raw]


async def _plan_chunk(ctx, parsed: list, header, stored: _Stored) -> list[RowPlan]:
    mines, people = stored.mines, stored.people
    if any(p.code in mines and p.version is not None and p.version < mines[p.code].version for p in parsed):
        async with ctx.engine.connect() as conn:
            since = await _changed_since(conn, parsed, mines)
    else:
        since = {}
    labels = {column.key: written for written, column in header.columns.values()}
    plans = []
    for row in parsed:
        mine = mines.get(row.code) if row.code else None
        if row.code and mine is None:
            plan = new_report(row)
            if not plan.report["errors"]:
                unknown_code(plan, labels.get("code"), row.code)
            plans.append(plan)
            continue
        if mine is not None and mine.id in since:
            _as_exported(row, since[mine.id])
        plan = plan_row(ctx, row, mine, people.get(mine.id, []) if mine else [], labels)
        if mine is not None and plan.action is ImportAction.UPDATE and row.version is not None:
            _check_version(plan, row.version, mine, since.get(mine.id, {}), labels)
        plans.append(plan)
    return plans


async def _changed_since(conn, parsed: list, mines: dict) -> dict[int, dict[str, Any]]:
    """Per mine whose row carries an older 版本: each audit field changed after that version, with
    its value at that version (the oldest such record's old value)."""
    older = {mines[p.code].id: p.version for p in parsed
             if p.code in mines and p.version is not None and p.version < mines[p.code].version}
    if not older:
        return {}
    statement = (select(AuditLog.mine_id, AuditLog.field, AuditLog.mine_version, AuditLog.old_value)
                 .where(AuditLog.mine_id.in_(older), AuditLog.mine_version.is_not(None),
                        AuditLog.action.like("mine.%"))
                 .order_by(AuditLog.mine_id, AuditLog.mine_version, AuditLog.id))
    found: dict[int, dict[str, Any]] = {}
    for mine_id, audit_field, version, old in (await conn.execute(statement)).all():
        if version > older[mine_id]:
            found.setdefault(mine_id, {}).setdefault(audit_field, None if old is None else json.loads(old))
    return found


def _as_exported(row, since: dict[str, Any]) -> None:
    """A cell of an older export that still holds the value the mine had then was not edited: it
    leaves the newer value alone (no change, no conflict). Edited cells stay and are checked."""
    for name in list(row.fields):
        if name in since and _same(row.fields[name], since[name]):
            del row.fields[name]
    for level, person in list(row.guarantors.items()):
        key = f"guarantor.{level}"
        if key in since and _same(person, since[key]):
            del row.guarantors[level]


def _same(a: Any, b: Any) -> bool:
    a, b = getattr(a, "value", a), getattr(b, "value", b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-6)  # numbers compare to 6 significant digits
    return a == b


def _check_version(plan: RowPlan, version: int, mine, changed: dict[str, Any], labels) -> None:
    if version > mine.version:
        plan.reject(labels.get("version"), version, f"版本 {version} 不存在（当前为 {mine.version}） / "
                    f"version {version} does not exist yet (the mine is at {mine.version})", "BAD_USER_INPUT")
    elif any(audited_field(c["field"]) in changed for c in plan.report["changes"]):
        plan.reject(labels.get("version"), version, STALE_EXPORT, "CONFLICT")


def _reject_repeated_codes(plans: list[RowPlan], header) -> None:
    rows_of: dict[str, list[RowPlan]] = {}
    for plan in plans:
        if plan.report["code"]:
            rows_of.setdefault(plan.report["code"], []).append(plan)
    for code, same in rows_of.items():
        if len(same) > 1:
            numbers = "、".join(str(p.report["rowNumber"]) for p in same)
            for plan in same:
                plan.reject(header.written("code"), code, f"矿山编码 {code} 在文件中出现多次（第 {numbers} 行） / "
                            f"code {code} appears more than once in this file (rows {numbers})", "BAD_USER_INPUT")


async def _apply(ctx, file_name, plans: list[RowPlan], counts, now, keep_passwords) -> tuple[int, dict[int, str]]:
    """Every plan in one transaction: a mine that changed since it was planned undoes them all.
    CHUNK rows at a time: the changed basic fields of the chunk's mines with their version step, in
    one statement per set of columns (resolvers/mine_apply.write_columns), one version step for the
    chunk's other mines, and the chunk's audit records as one statement (in row order), where a
    statement per row and field made applying 100,000 rows take minutes (bench/README.md, "Import").
    The report is stored at the end (it names the new mines' codes), not twice."""
    passwords: dict[int, str] = {}
    todo = [plan for plan in plans if plan.action is not ImportAction.UNCHANGED]
    async with one_writer(ctx.engine), ctx.engine.begin() as conn:
        import_id = await record(ctx, file_name, [], counts, now, applied=True, conn=conn)
        for start in range(0, len(todo), CHUNK):
            chunk, audits = todo[start:start + CHUNK], []
            # A mine with basic changes gets its version step in the statement that writes them.
            locked = await _step_versions(conn, ctx, [p for p in chunk if not p.basic_changes], now)
            basic = [p for p in chunk if p.mine_id is not None and p.basic_changes]
            written = await apply_many_mine_changes(
                conn, ctx, [(SimpleNamespace(id=p.mine_id, version=p.seen_version), p.columns, p.basic_changes)
                            for p in basic], now, import_id, bump=True, scope=ctx.scope, audits=audits)
            _check_stepped(written, basic)
            locked.update(written)
            for plan in chunk:
                if plan.mine_id is None:
                    row, password = await insert_mine(conn, ctx, plan.columns, now, import_id=import_id)
                    plan.report["code"] = row.code
                    passwords[plan.report["rowNumber"]] = password
                else:
                    row = locked[plan.mine_id]
                if plan.point is CLEAR:
                    await clear_location(conn, ctx, row, now, import_id=import_id, audits=audits)
                elif plan.point is not None:
                    await write_location(conn, ctx, row, plan.point, now, import_id=import_id, audits=audits)
                for level, person in plan.guarantors.items():
                    await write_guarantor(conn, ctx, row, level, person, now, import_id=import_id, audits=audits)
            await audit.write(conn, audits)
        # New mines' codes are known now: the stored report names them.
        await conn.execute(update(MineImport).where(MineImport.id == import_id).values(
            report=json.dumps([p.report for p in plans], ensure_ascii=False)))
        if keep_passwords is not None and passwords:
            codes = {p.report["rowNumber"]: p.report["code"] for p in plans}
            keep_passwords([(codes[n], password) for n, password in passwords.items()])
    return import_id, passwords


def _check_stepped(locked: dict[int, Any], plans: list[RowPlan]) -> None:
    """Each mine one version past the one it was planned at, or the transaction rolls back."""
    if len(locked) != len(plans) or any(locked[p.mine_id].version != p.seen_version + 1
                                        for p in plans if p.mine_id in locked):
        raise Conflict(MOVED_ON)


async def _step_versions(conn, ctx, chunk: list[RowPlan], now) -> dict[int, Any]:
    """One version step for each existing mine of the chunk, in one statement; its rows as locked.
    A mine no longer at the version it was planned at (or gone from the scope) is a Conflict: the
    transaction rolls back, steps included."""
    seen = {plan.mine_id: plan.seen_version for plan in chunk if plan.mine_id is not None}
    if not seen:
        return {}
    rows = (await conn.execute(
        update(Mine).where(Mine.id.in_(seen), jurisdiction(ctx.scope))
        .values(version=Mine.version + 1, updated_at=now).returning(*Mine.__table__.c))).all()
    locked = {row.id: row for row in rows}
    _check_stepped(locked, [plan for plan in chunk if plan.mine_id is not None])
    return locked
