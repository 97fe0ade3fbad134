"""registry maintenance: verification and revocation of mines, imports, change requests

Revision ID: c8f3e1b7a254
Revises: e6b2f4a9c317
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from models.tally import create_triggers, drop_triggers, rebuild_statements

revision = "c8f3e1b7a254"
down_revision = "e6b2f4a9c317"
branch_labels = None
depends_on = None

# As in the data-version migration: these rows are served (imports, change requests), so any
# change to them must invalidate cached answers.
WATCHED = ("mine_import", "mine_change_request")
# The statistics' covering index also carries the verification state (the verification statistic).
# It and the keyset indexes become partial, holding live mines only (models/mine.py, LIVE).
STATISTICS = ["county_code", "category_code", "group_code", "mineral_code", "scale", "production_status",
              "workers_per_shift", "max_depth"]
STATISTICS_NOW = [*STATISTICS, "verification_state", "revoked_at"]  # see models/mine.py
KEYSETS = {"ix_mine_county_code_code": ["county_code", "code"],
           "ix_mine_province_county_code": ["province_code", "county_code", "code"],
           "ix_mine_city_county_code": ["city_code", "county_code", "code"]}
LIVE = "revoked_at IS NULL"


def _indexes(statistics: list[str], where: str | None) -> None:
    partial = {} if where is None else {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}
    for name, columns in {**KEYSETS, "ix_mine_statistics": statistics}.items():
        op.drop_index(name, table_name="mine")
        op.create_index(name, "mine", columns, **partial)
EVENTS = ("INSERT", "UPDATE", "DELETE")
BUMP = "UPDATE data_version SET version = version + 1 WHERE id = 1"


def _text(length: int | None = None):
    return sqlmodel.sql.sqltypes.AutoString(length=length) if length else sqlmodel.sql.sqltypes.AutoString()


def _time():
    return sqlmodel.sql.sqltypes.UTCDateTime()


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Plain ADD COLUMN (no table rebuild, which on SQLite would drop the mine table's triggers);
    # the server default fills the existing rows.
    for column in (
        sa.Column("verification_state", _text(12), nullable=False, server_default="UNVERIFIED"),
        sa.Column("verified_at", _time(), nullable=True),
        sa.Column("verified_by", _text(32), nullable=True),
        sa.Column("verification_note", _text(), nullable=True),
        sa.Column("revoked_at", _time(), nullable=True),
        sa.Column("revoked_reason", _text(), nullable=True),
    ):
        op.add_column("mine", column)
    _indexes(STATISTICS_NOW, LIVE)
    op.create_table(
        "mine_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("username", _text(32), nullable=False),
        sa.Column("scope_key", _text(40), nullable=False),
        sa.Column("file_name", _text(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ("created", "changed", "unchanged", "rejected")),
        sa.Column("report", _text(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mine_import_account_at", "mine_import", ["account_id", "at"])
    op.create_table(
        "mine_change_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mine_id", sa.Integer(), nullable=False),
        sa.Column("changes", _text(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("status", _text(12), nullable=False),
        sa.Column("note", _text(), nullable=True),
        sa.Column("proposed_by", _text(32), nullable=False),
        sa.Column("proposed_at", _time(), nullable=False),
        sa.Column("reviewed_by", _text(32), nullable=True),
        sa.Column("reviewed_at", _time(), nullable=True),
        sa.Column("review_note", _text(), nullable=True),
        sa.ForeignKeyConstraint(["mine_id"], ["mine.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mine_change_request_status_mine", "mine_change_request", ["status", "mine_id"])
    op.add_column("audit_log", sa.Column("mine_version", sa.Integer(), nullable=True))
    if dialect == "sqlite":  # SQLite adds a reference only inline (alembic would rebuild the table)
        op.execute("ALTER TABLE audit_log ADD COLUMN import_id INTEGER REFERENCES mine_import (id)")
    else:
        op.add_column("audit_log", sa.Column("import_id", sa.Integer(), sa.ForeignKey("mine_import.id"), nullable=True))
    # The tally now skips revoked mines (none exist yet, so the recount changes nothing).
    for statement in (*drop_triggers(dialect), *rebuild_statements(), *create_triggers(dialect, guarded=False)):
        op.execute(statement)
    _watch(dialect)


def _watch(dialect: str) -> None:
    for table in WATCHED:
        if dialect == "postgresql":
            op.execute(f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()")
        else:
            for event in EVENTS:
                op.execute(f"CREATE TRIGGER {table}_{event.lower()}_data_version AFTER {event} ON {table} "
                           f"BEGIN {BUMP}; END")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in WATCHED:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
        else:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER {table}_{event.lower()}_data_version")
    for statement in (*drop_triggers(dialect), *rebuild_statements(revocable=False),
                      *create_triggers(dialect, revocable=False, guarded=False)):
        op.execute(statement)
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("import_id")
        batch.drop_column("mine_version")
    op.drop_index("ix_mine_change_request_status_mine", table_name="mine_change_request")
    op.drop_table("mine_change_request")
    op.drop_index("ix_mine_import_account_at", table_name="mine_import")
    op.drop_table("mine_import")
    _indexes(STATISTICS, None)
    with op.batch_alter_table("mine") as batch:
        for column in ("revoked_reason", "revoked_at", "verification_note", "verified_by", "verified_at",
                       "verification_state"):
            batch.drop_column(column)
