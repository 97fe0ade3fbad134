"""covering index for statistics grouped by county

Revision ID: 7c2e4f1a0b93
Revises: 5b1f0c2d9a41
Create Date: 2026-11-29 22:20:00
"""

from __future__ import annotations

from alembic import op

revision = "7c2e4f1a0b93"
down_revision = "5b1f0c2d9a41"
branch_labels = None
depends_on = None

# Every column the home statistics and the common filters (mineral, status)
# read, led by the county they are grouped by: the rollup scans this index
# alone instead of the wide mine rows.
COLUMNS = ["county_code", "category_code", "group_code", "mineral_code", "scale", "production_status",
           "workers_per_shift", "max_depth"]


def upgrade() -> None:
    op.create_index("ix_mine_statistics", "mine", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_mine_statistics", table_name="mine")
