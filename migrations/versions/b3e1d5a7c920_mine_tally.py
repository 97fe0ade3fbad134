"""pre-aggregated mine counts per status, county and category (and over all statuses), kept by triggers

Revision ID: b3e1d5a7c920
Revises: 9706c8eff610
Create Date: 2026-11-30 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

from models.tally import create_triggers, drop_triggers, rebuild_statements

revision = "b3e1d5a7c920"
down_revision = "9706c8eff610"
branch_labels = None
depends_on = None


def upgrade() -> None:
    code = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "mine_tally",
        sa.Column("production_status", code(length=16), nullable=False),
        sa.Column("county_code", code(length=6), nullable=False),
        sa.Column("category_code", code(length=8), nullable=False),
        sa.Column("province_code", code(length=6), nullable=False),
        sa.Column("city_code", code(length=6), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False)
          for name in ("n", "n_large", "n_medium", "n_small", "n_over_workers", "n_over_depth")),
        sa.PrimaryKeyConstraint("production_status", "county_code", "category_code"),
    )
    op.create_index("ix_mine_tally_province", "mine_tally", ["province_code"])
    op.create_index("ix_mine_tally_city", "mine_tally", ["city_code"])
    dialect = op.get_bind().dialect.name
    # As the triggers were then: `revoked_at` comes in a later migration.
    for statement in (*rebuild_statements(revocable=False), *create_triggers(dialect, revocable=False, guarded=False)):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index("ix_mine_tally_city", table_name="mine_tally")
    op.drop_index("ix_mine_tally_province", table_name="mine_tally")
    op.drop_table("mine_tally")
