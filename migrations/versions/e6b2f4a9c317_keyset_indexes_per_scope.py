"""keyset indexes per scope column: (province|city, county, code) replace (province|city, category)

Revision ID: e6b2f4a9c317
Revises: d4a8c6e2f051
Create Date: 2026-11-30 06:40:00
"""

from __future__ import annotations

from alembic import op

revision = "e6b2f4a9c317"
down_revision = "d4a8c6e2f051"
branch_labels = None
depends_on = None

# A province's or city's mine list is ordered by (county, code) and continues after a cursor;
# its counts are grouped by county. Led by the scope column and then in that order, one index
# serves both: the page seeks to the cursor and reads one page, the GROUP BY needs no sort.
# (With (scope, category) the planners read the whole province and sorted it for every page.)
REPLACED = {
    "ix_mine_province_category": ("ix_mine_province_county_code", "province_code"),
    "ix_mine_city_category": ("ix_mine_city_county_code", "city_code"),
}


def upgrade() -> None:
    for old, (new, column) in REPLACED.items():
        op.create_index(new, "mine", [column, "county_code", "code"])
        op.drop_index(old, table_name="mine")


def downgrade() -> None:
    for old, (new, column) in REPLACED.items():
        op.create_index(old, "mine", [column, "category_code"])
        op.drop_index(new, table_name="mine")
