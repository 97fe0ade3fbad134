"""Pre-aggregated mine counts, kept by database triggers in the writing transaction.

A national drill-down counts every mine by county. Counting the `mine` table
costs time in proportion to the number of mines (about 0.5 s at 1,000,000 on
SQLite); this table holds the same sums per (production status, county, mineral
category) — at most 7 × 2,845 × 4 rows however many mines there are — plus the
same sums over all statuses under the status `*`, which an unfiltered count
reads alone: a few thousand rows, contiguous in the primary key.

Triggers on `mine` (created by the migration that adds this table) apply every
insert, delete and change of a counted column in the same transaction, whoever
writes: the service, the CLI or an operator's SQL. The flags are counted at the
domain's thresholds (more than 30 workers per shift, deeper than 800 m); a
service configured with other thresholds counts the `mine` table instead.
`TRUNCATE mine` (PostgreSQL) bypasses row triggers: run `rebuild` after one.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncConnection

WORKERS_THRESHOLD = 30
DEPTH_THRESHOLD_M = 800
ALL_STATUSES = "*"  # the rows summed over every production status


class MineTally(SQLModel, table=True):
    __tablename__ = "mine_tally"
    __table_args__ = (
        Index("ix_mine_tally_province", "province_code"),
        Index("ix_mine_tally_city", "city_code"),
    )

    # Status first: the `*` rows an unfiltered count reads lie together.
    production_status: str = Field(primary_key=True, max_length=16)
    county_code: str = Field(primary_key=True, max_length=6)
    category_code: str = Field(primary_key=True, max_length=8)
    # The county's ancestry, so that jurisdiction and region filters match like on `mine`.
    province_code: str = Field(max_length=6)
    city_code: str | None = Field(default=None, max_length=6)
    n: int = 0
    n_large: int = 0
    n_medium: int = 0
    n_small: int = 0
    n_over_workers: int = 0
    n_over_depth: int = 0


# Changing any of these columns of a mine moves it between tally rows.
COUNTED_COLUMNS = ("county_code", "city_code", "province_code", "category_code", "production_status",
                   "scale", "workers_per_shift", "max_depth")
# Since the registry can be maintained (issue "going live"), a revoked mine (作废) counts nowhere.
# Migrations written before `revoked_at` existed build their triggers with `revocable=False`.
REVOCABLE = "revoked_at"
_KEY = "production_status, county_code, category_code"
_SUMS = ("n", "n_large", "n_medium", "n_small", "n_over_workers", "n_over_depth")


def _terms(row: str) -> tuple[str, ...]:
    """Each sum's contribution of one mine (`NEW` or `OLD`, or a table name in a SELECT)."""
    return (
        "1",
        f"CAST({row}.scale = 'LARGE' AS INTEGER)",
        f"CAST({row}.scale = 'MEDIUM' AS INTEGER)",
        f"CAST({row}.scale = 'SMALL' AS INTEGER)",
        f"CAST({row}.workers_per_shift > {WORKERS_THRESHOLD} AS INTEGER)",
        f"CAST({row}.max_depth > {DEPTH_THRESHOLD_M} AS INTEGER)",
    )


def _apply(row: str, sign: int, revocable: bool) -> str:
    """Add (+1) or remove (-1) one mine's contribution, to its status's row and to the
    `*` row: upserts valid on both databases (the WHERE also settles SQLite's parse of
    INSERT … SELECT … ON CONFLICT)."""
    values = ", ".join(f"{sign} * {term}" for term in _terms(row))
    updates = ", ".join(f"{s} = mine_tally.{s} + excluded.{s}" for s in _SUMS)
    counted = f"{row}.{REVOCABLE} IS NULL" if revocable else "1 = 1"
    return "; ".join(
        f"INSERT INTO mine_tally ({_KEY}, province_code, city_code, {', '.join(_SUMS)}) "
        f"SELECT {status}, {row}.county_code, {row}.category_code, "
        f"{row}.province_code, {row}.city_code, {values} WHERE {counted} "
        f"ON CONFLICT ({_KEY}) DO UPDATE SET {updates}, "
        "province_code = excluded.province_code, city_code = excluded.city_code"
        for status in (f"{row}.production_status", f"'{ALL_STATUSES}'")
    )


def _moves(revocable: bool) -> tuple[str, ...]:
    """What decides a mine's contribution: its tally row (key and ancestry), each sum's term, and
    whether it counts at all. An update that leaves all of them as they were moves nothing."""
    return ("county_code", "category_code", "production_status", "province_code", "city_code", "scale",
            f"{{row}}.workers_per_shift > {WORKERS_THRESHOLD}", f"{{row}}.max_depth > {DEPTH_THRESHOLD_M}",
            *((f"{{row}}.{REVOCABLE} IS NULL",) if revocable else ()))


def _moved(dialect: str, revocable: bool) -> str:
    """The update trigger's WHEN: true when the mine's contribution changes (NULL-safe)."""
    def side(term: str, row: str) -> str:
        return f"({term.format(row=row)})" if "{row}" in term else f"{row}.{term}"

    terms = _moves(revocable)
    if dialect == "postgresql":
        return (f"(({', '.join(side(t, 'OLD') for t in terms)}) IS DISTINCT FROM "
                f"({', '.join(side(t, 'NEW') for t in terms)}))")
    return "(" + " OR ".join(f"{side(t, 'OLD')} IS NOT {side(t, 'NEW')}" for t in terms) + ")"


def create_triggers(dialect: str, revocable: bool = True, guarded: bool = True) -> list[str]:
    """`guarded`: the update trigger fires only when the mine's contribution changes (a changed
    workforce that stays on its side of the threshold, say: an import of 100,000 such rows ran
    400,000 upserts of the tally for nothing). Migrations written before it pass False."""
    columns = ", ".join((*COUNTED_COLUMNS, REVOCABLE) if revocable else COUNTED_COLUMNS)
    old, new = _apply("OLD", -1, revocable), _apply("NEW", 1, revocable)
    when = f"WHEN {_moved(dialect, revocable)} " if guarded else ""
    if dialect == "postgresql":
        function = ("CREATE FUNCTION mine_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {old}; END IF; "
                    f"IF TG_OP IN ('UPDATE', 'INSERT') THEN {new}; END IF; "
                    "RETURN NULL; END $$")
        if not guarded:
            return [function, f"CREATE TRIGGER mine_tally AFTER INSERT OR DELETE OR UPDATE OF {columns} ON mine "
                              "FOR EACH ROW EXECUTE FUNCTION mine_tally_apply()"]
        # An INSERT or DELETE trigger's WHEN cannot name OLD and NEW both: the update has its own.
        return [function,
                "CREATE TRIGGER mine_tally AFTER INSERT OR DELETE ON mine FOR EACH ROW EXECUTE FUNCTION mine_tally_apply()",
                f"CREATE TRIGGER mine_tally_update AFTER UPDATE OF {columns} ON mine FOR EACH ROW {when}"
                "EXECUTE FUNCTION mine_tally_apply()"]
    return [
        f"CREATE TRIGGER mine_tally_insert AFTER INSERT ON mine BEGIN {new}; END",
        f"CREATE TRIGGER mine_tally_delete AFTER DELETE ON mine BEGIN {old}; END",
        f"CREATE TRIGGER mine_tally_update AFTER UPDATE OF {columns} ON mine {when}"
        f"BEGIN {old}; {new}; END",
    ]


def drop_triggers(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return ["DROP TRIGGER IF EXISTS mine_tally ON mine", "DROP TRIGGER IF EXISTS mine_tally_update ON mine",
                "DROP FUNCTION IF EXISTS mine_tally_apply()"]
    return [f"DROP TRIGGER IF EXISTS mine_tally_{event}" for event in ("insert", "delete", "update")]


def rebuild_statements(revocable: bool = True) -> list[str]:
    """Recount the whole table from `mine` (after a bulk load or a TRUNCATE)."""
    sums = ", ".join(f"SUM({term})" for term in _terms("mine"))
    columns = f"{_KEY}, province_code, city_code, {', '.join(_SUMS)}"
    counted = f" WHERE {REVOCABLE} IS NULL" if revocable else ""
    return [
        "DELETE FROM mine_tally",
        *(f"INSERT INTO mine_tally ({columns}) SELECT {status}, county_code, category_code, "
          f"MIN(province_code), MIN(city_code), {sums} FROM mine{counted} GROUP BY {group}"
          for status, group in (("production_status", _KEY), (f"'{ALL_STATUSES}'", "county_code, category_code"))),
    ]


@asynccontextmanager
async def bulk_load(conn: AsyncConnection) -> AsyncIterator[None]:
    """A bulk insert into `mine` inside `conn`'s transaction: the row triggers are
    dropped for the load and the tally is recounted once after it (DDL is
    transactional on both databases, so a failed load leaves the triggers in place)."""
    dialect = conn.dialect.name
    for statement in drop_triggers(dialect):
        await conn.exec_driver_sql(statement)
    yield
    for statement in (*rebuild_statements(), *create_triggers(dialect)):
        await conn.exec_driver_sql(statement)
