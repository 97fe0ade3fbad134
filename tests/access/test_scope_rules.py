"""The two forms of the one jurisdiction rule agree (auth/scope.py).

Region lookups (`region(code)`, `children`, `parent`) ask `Scope.covers` of the in-memory
tree; every statement over regions, mines and the tally is built with the SQL predicate
`jurisdiction()`. Were they to drift apart, a caller could open a region whose mines are
not counted, or count mines in a region it cannot open. For one caller of each tier:
the regions `covers` admits are exactly those `jurisdiction(scope, Region)` selects, and
exactly the caller's root region with everything under it (an enterprise: its county);
the mines `jurisdiction(scope)` selects all lie in those regions — and, for a regulator,
are every mine that does.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from auth.scope import Scope, jurisdiction
from models.enums import UserTier
from models.mine import Mine
from models.reference import Region

TIERS = ["NATIONAL", "PROVINCE", "CITY", "COUNTY", "ENTERPRISE"]


def _subtree(node) -> set[str]:
    """The node and every region under it, by walking the tree (not by ancestry columns)."""
    return {node.code}.union(*(_subtree(child) for child in node.children))


async def _selected(app, statement) -> list:
    async with app.state.engine.connect() as conn:
        return (await conn.execute(statement)).all()


@pytest.fixture(scope="module")
async def covered(app, callers) -> dict[str, set[str]]:
    """Per tier, the region codes `Scope.covers` admits, with the scope used."""
    trees = app.state.trees
    out = {}
    for tier in TIERS:
        caller = callers[tier]
        scope = Scope(UserTier(tier), caller.region_code, caller.mine_id)
        out[tier] = (scope, {code for code, node in trees.regions.items() if scope.covers(node)})
    return out


@pytest.mark.parametrize("tier", TIERS)
async def test_covers_admits_exactly_the_regions_jurisdiction_selects(app, callers, covered, tier):
    scope, in_memory = covered[tier]
    in_sql = {code for (code,) in await _selected(app, select(Region.code).where(jurisdiction(scope, Region)))}
    assert in_memory == in_sql, (sorted(in_memory - in_sql)[:10], sorted(in_sql - in_memory)[:10])
    root = app.state.trees.regions[callers[tier].region_code]
    assert in_memory == ({root.code} if tier == "ENTERPRISE" else _subtree(root))


@pytest.mark.parametrize("tier", TIERS)
async def test_jurisdiction_selects_the_mines_of_the_covered_regions(app, callers, covered, mines, tier):
    scope, in_memory = covered[tier]
    selected = {row.id for row in await _selected(app, select(Mine.id).where(jurisdiction(scope)))}
    assert selected
    by_id = {m["id"]: m for m in mines}
    assert all(by_id[i]["county_code"] in in_memory for i in selected)
    if tier == "ENTERPRISE":
        assert selected == {callers[tier].mine_id}
    else:
        assert selected == {m["id"] for m in mines if m["county_code"] in in_memory}


def test_the_tiers_nest(covered):
    """Each regulator's jurisdiction lies strictly inside the one above (conftest picks them
    nested), and the enterprise's regions are its county's alone (its mines differ, above):
    the comparisons above are not vacuous."""
    regulators = [covered[tier][1] for tier in TIERS[:-1]]
    for inner, outer in zip(regulators[1:], regulators):
        assert inner < outer
    assert covered["ENTERPRISE"][1] == covered["COUNTY"][1] and len(covered["COUNTY"][1]) == 1
