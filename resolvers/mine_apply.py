"""Applying a planned edit of mines' basic data (resolvers/mine_edits.py plans it): the SQL writes,
their audit records and the enterprise account of a new mine. None of these opens a transaction,
so an import can run thousands of rows in its own.

- `apply_mine_changes(conn, ctx_like, locked_row, columns, changes, now, import_id=None, *,
  bump=False)` — writes `columns` to the locked mine, one "mine.update" audit record per change
  (with `import_id`), and turns VERIFIED into STALE (every MineInput field is basic data).
  `bump=True` also steps the version (updateMine's `_write` has stepped it already).
  `apply_many_mine_changes` is the same for a list of mines (an import's chunk): it is what
  `apply_mine_changes` runs, with batched statements; `write_columns` is its UPDATE.
- `insert_mine(conn, ctx_like, columns, now, import_id=None) -> (row, password)` — assigns the
  code (next serial in the county), inserts the mine, audits "mine.create" and creates its
  enterprise account (username = code) with a one-time password, returned once.

`ctx_like` needs `user` (account_id, username), `request_id`, `trees` and `settings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, case, func, insert, select, text, update

from auth import audit
from admin.accounts import generate_password
from auth.passwords import hash_password_async
from auth.scope import jurisdiction
from models.account import Account
from models.enums import GuarantorLevel, UserTier, VerificationState
from models.mine import Mine
from resolvers.mine_edits import shown

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncConnection

    from auth.scope import Scope


async def apply_mine_changes(
    conn: AsyncConnection, ctx_like, locked_row, columns: dict[str, Any], changes: list[dict[str, Any]],
    now: datetime, import_id: int | None = None, *, bump: bool = False,
) -> None:
    """Write a plan to a mine locked by this transaction and audit it field by field."""
    await apply_many_mine_changes(conn, ctx_like, [(locked_row, columns, changes)], now, import_id, bump=bump)


async def apply_many_mine_changes(
    conn: AsyncConnection, ctx_like, items: list[tuple[Any, dict[str, Any], list[dict[str, Any]]]],
    now: datetime, import_id: int | None = None, *, bump: bool = False, audits: list | None = None,
    scope: Scope | None = None,
) -> dict[int, Any]:
    """`apply_mine_changes` for many (locked row, columns, changes) at once: one UPDATE per set of
    columns written and the audit records in one statement (or, with `audits`, added there for the
    caller to write in order with its others: `auth.audit.write`).

    With `bump` (an import's chunk) the rows need not be locked yet: each item's row is the mine as
    planned (`id`, `version`), and the same statement steps the version of the mines still at that
    version (and, with `scope`, inside it), so that each mine gets one new row version, not two.
    Returns the written rows by id, as the statement left them: a mine missing from the answer, or
    not at `version + 1`, had moved on (the caller's Conflict). Without `bump`, {}."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    moved: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for locked_row, columns, changes in items:
        if not changes:
            continue
        by_columns.setdefault(tuple(sorted(columns)), []).append(
            {"p_id": locked_row.id, "p_version": locked_row.version, **{f"p_{k}": v for k, v in columns.items()}})
        if "county_code" in columns:
            # An enterprise account's scope is its mine's county (auth/sessions.py): it moves with the mine.
            moved.append({"p_id": locked_row.id, "p_region": columns["county_code"]})
        entries += [audit.entry(
            "mine.update", account_id=ctx_like.user.account_id, username=ctx_like.user.username,
            mine_id=locked_row.id, field=change["field"], old=change["old"], new=change["new"],
            request_id=ctx_like.request_id, at=now, import_id=import_id,
            mine_version=locked_row.version + (1 if bump else 0),
        ) for change in changes]
    written: dict[int, Any] = {}
    for names, rows in by_columns.items():
        for row in await write_columns(conn, names, rows, now, bump=bump, scope=scope):
            written[row.id] = row
    if moved:
        accounts = Account.__table__
        await conn.execute(update(accounts).where(accounts.c.mine_id == bindparam("p_id"))
                           .values(region_code=bindparam("p_region")), moved)
    await audit.write(conn, entries, into=audits)
    return written


# Every MineInput field is basic data: a verified mine whose basic data moves is verified no more.
_STALE = case((Mine.__table__.c.verification_state == VerificationState.VERIFIED.value, VerificationState.STALE.value),
              else_=Mine.__table__.c.verification_state)


async def write_columns(
    conn: AsyncConnection, names: tuple[str, ...], rows: list[dict[str, Any]], now: datetime, *,
    bump: bool = False, scope: Scope | None = None, as_set: bool | None = None,
) -> list:
    """Write `names` of many mines (VERIFIED becomes STALE): `rows` are {"p_id", "p_version",
    "p_<name>": value, ...}. With `bump`, the versions are stepped too (inside `scope`) and the
    stepped rows returned (else []): a mine not at `p_version + 1` in the answer, or missing from
    it, was written by someone else since (the caller's Conflict, which rolls back).

    On PostgreSQL (`as_set`) one `UPDATE mine … FROM unnest(<one array per column>)` that writes only
    mines still at `p_version`; elsewhere an executemany of the one-row UPDATE and, with `bump`, one
    version step for them all (SQLite has no row version to save). Both write the same
    (tests/writes/test_mine_edits.py compares them). The set form exists because the statement-level
    trigger bump_data_version updates the one data_version row once per statement, and each update
    of one row within a PostgreSQL transaction leaves a row version that the next one walks past:
    an executemany of 100,000 rows took minutes, growing with the square of the rows
    (bench/README.md, "Import")."""
    table = Mine.__table__
    if as_set is None:
        as_set = conn.dialect.name == "postgresql"
    guard = [jurisdiction(scope)] if scope is not None else []
    if as_set:
        from sqlalchemy.dialects.postgresql import ARRAY

        keys = ("id", "version", *names)
        arrays = [bindparam(f"a_{key}", [row[f"p_{key}"] for row in rows], type_=ARRAY(table.c[key].type))
                  for key in keys]
        given = func.unnest(*arrays).table_valued(*keys).render_derived(name="v")
        statement = update(table).where(table.c.id == given.c.id).values(
            {**{name: given.c[name] for name in names}, "verification_state": _STALE})
        if not bump:
            await conn.execute(statement)
            return []
        statement = statement.where(table.c.version == given.c.version, *guard).values(
            version=table.c.version + 1, updated_at=now).returning(*table.c)
        return list((await conn.execute(statement)).all())
    await conn.execute(update(table).where(table.c.id == bindparam("p_id")).values(
        {**{name: bindparam(f"p_{name}") for name in names}, "verification_state": _STALE}), rows)
    if not bump:
        return []
    # The step after the columns (one transaction: the order changes nothing), so that the rows it
    # returns are as written. A mine written meanwhile is a version further than `p_version + 1`.
    return list((await conn.execute(update(table).where(table.c.id.in_([row["p_id"] for row in rows]), *guard)
                                    .values(version=table.c.version + 1, updated_at=now)
                                    .returning(*table.c))).all())


async def _next_code(conn: AsyncConnection, county_code: str) -> str:
    """'C' + county code + the county's next serial (as the seed numbers them: at least 4 digits)."""
    if conn.dialect.name == "postgresql":
        # Two creations in one county would pick the same serial: they take turns (till commit).
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x4D494E45_00000000 + int(county_code)})
    prefix = f"C{county_code}"
    codes = (await conn.execute(
        select(Mine.code).where(Mine.code.like(prefix + "%"), func.length(Mine.code) > len(prefix))
    )).scalars().all()
    serials = [code[len(prefix):] for code in codes if code[len(prefix):].isdigit()]
    width = max([4, *map(len, serials)])
    return f"{prefix}{max(map(int, serials), default=0) + 1:0{width}d}"


async def insert_mine(conn: AsyncConnection, ctx_like, columns: dict[str, Any], now: datetime,
                      import_id: int | None = None):
    """Insert a planned new mine and its enterprise account; (mine row, one-time password)."""
    code = await _next_code(conn, columns["county_code"])
    mine_id = (await conn.execute(insert(Mine).values(
        **columns, code=code, version=1, updated_at=now, verification_state=VerificationState.UNVERIFIED.value,
    ).returning(Mine.id))).scalar_one()
    row = (await conn.execute(select(Mine).where(Mine.id == mine_id))).first()
    await audit.record(
        conn, "mine.create", account_id=ctx_like.user.account_id, username=ctx_like.user.username,
        mine_id=mine_id, field="mine", new={"code": code, **shown(row)}, request_id=ctx_like.request_id,
        at=now, import_id=import_id, mine_version=1,
    )
    password = generate_password(ctx_like.settings, code)
    account_id = (await conn.execute(insert(Account).values(
        username=code, password_hash=await hash_password_async(password), tier=UserTier.ENTERPRISE.value,
        region_code=columns["county_code"], mine_id=mine_id, guarantor_level=GuarantorLevel.ENTERPRISE.value,
        created_at=now,
    ).returning(Account.id))).scalar_one()
    await audit.record(conn, "account.created", account_id=account_id, username=code, at=now,
                       request_id=ctx_like.request_id, import_id=import_id)
    return row, password
