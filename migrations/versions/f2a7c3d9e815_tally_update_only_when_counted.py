"""the tally's update trigger fires only when a mine's contribution to the tally changes

Revision ID: f2a7c3d9e815
Revises: c8f3e1b7a254
Create Date: 2026-12-03 13:00:00

An update of a counted column that leaves the mine in the same tally row with the same terms (a
workforce of 12 → 13, both under the threshold of 30) ran four upserts of the tally that summed to
nothing: per row, so an import of 100,000 such rows ran 400,000 of them. The trigger now has a
WHEN that compares what decides the contribution (models/tally.py, `_moves`); the counts are the
same, so nothing is recounted.
"""

from __future__ import annotations

from alembic import op

from models.tally import create_triggers, drop_triggers

revision = "f2a7c3d9e815"
down_revision = "c8f3e1b7a254"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in (*drop_triggers(dialect), *create_triggers(dialect, guarded=True)):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in (*drop_triggers(dialect), *create_triggers(dialect, guarded=False)):
        op.execute(statement)
