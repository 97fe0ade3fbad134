"""Jurisdiction: the one place that decides what a caller may see and count.

`jurisdiction(scope, table)` is the SQL predicate every statement over mines
(and regions) is built with; `Scope.covers(node)` evaluates the very same
rule on the in-memory region tree, using the same column mapping, so that
region lookups need no statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, false, true

from models.enums import UserTier
from models.mine import Mine

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from models.trees import RegionNode

# The ancestry column a regulator's region is matched on; tables and tree
# nodes carry the same names.
_TIER_COLUMN = {
    UserTier.PROVINCE: "province_code",
    UserTier.CITY: "city_code",
    UserTier.COUNTY: "county_code",
}


@dataclass(frozen=True)
class Scope:
    tier: UserTier
    region_code: str  # the caller's root region (an enterprise: its mine's county)
    mine_id: int | None = None

    @property
    def key(self) -> str:
        """Identifies the scope in cache and loader keys."""
        if self.tier is UserTier.ENTERPRISE:
            return f"mine:{self.mine_id}"
        return f"{self.tier.value}:{self.region_code}"

    def covers(self, node: RegionNode) -> bool:
        """Whether the region node is inside the jurisdiction (same rule as SQL)."""
        if self.tier is UserTier.NATIONAL:
            return True
        if self.tier is UserTier.ENTERPRISE:
            return node.code == self.region_code
        return getattr(node, _TIER_COLUMN[self.tier]) == self.region_code


def jurisdiction(scope: Scope | None, table: Any = Mine) -> ColumnElement[bool]:
    """SQL predicate limiting `table` (Mine, Region, or the mine tally) to the caller's jurisdiction.

    A revoked mine (作废) is in nobody's jurisdiction: it leaves every list, count and write
    (the tally's triggers skip it likewise); its audit trail stays."""
    inside = _inside(scope, table)
    return and_(Mine.revoked_at.is_(None), inside) if table is Mine else inside


def _inside(scope: Scope | None, table: Any) -> ColumnElement[bool]:
    if scope is None:
        return false()
    if scope.tier is UserTier.NATIONAL:
        return true()
    if scope.tier is UserTier.ENTERPRISE:
        if table is Mine:
            return Mine.id == scope.mine_id
        if hasattr(table, "code"):  # a region: the mine's county
            return table.code == scope.region_code
        return false()  # a tally cannot tell one mine from another: it counts nothing
    return getattr(table, _TIER_COLUMN[scope.tier]) == scope.region_code
