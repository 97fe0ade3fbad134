"""index guarantors by the account that entered them (quick fill)

Revision ID: d4a8c6e2f051
Revises: b3e1d5a7c920
Create Date: 2026-11-30 12:00:00
"""

from __future__ import annotations

from alembic import op

revision = "d4a8c6e2f051"
down_revision = "b3e1d5a7c920"
branch_labels = None
depends_on = None

# guarantorSuggestions reads the guarantors one account entered at one level, newest first:
# without this index every call scans the whole guarantor table (a million rows at full size).
COLUMNS = ["entered_by", "level", "updated_at"]


def upgrade() -> None:
    op.create_index("ix_guarantor_entered_by", "guarantor", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_guarantor_entered_by", table_name="guarantor")
