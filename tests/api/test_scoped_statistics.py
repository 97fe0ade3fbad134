"""Arguments that scope a statistic apply to the subtree below it (execution/drill_down.py): a node's
statistic without them counts with those the same statistic has above, so every tree adds up at
every node, and every node equals a recount from the database."""

from __future__ import annotations

import pytest

from support.queries import COMPLETENESS_FIELDS, STATS_FIELDS
from support.reference import (
    as_comparable, expected_completeness, expected_stats, guarantor_levels, in_region, matches, visible, walk_tree,
)
from support.statements import StatementCounter

MINERAL_LEVEL = {1: "category_code", 2: "group_code", 3: "mineral_code"}
NUMBERS = ("total", "large", "medium", "small", "over30Workers", "over800mDepth")

MINERAL_TREE = f"""
query Minerals($r: String, $f: MineFilter) {{
  mineralTypes {{
    code level
    completeness(regionCode: $r) {{ {COMPLETENESS_FIELDS} }}
    stats(regionCode: $r, filter: $f) {{ {STATS_FIELDS} }}
    children {{
      code level completeness {{ {COMPLETENESS_FIELDS} }} stats {{ {STATS_FIELDS} }}
      children {{ code level completeness {{ {COMPLETENESS_FIELDS} }} stats {{ {STATS_FIELDS} }} }}
    }}
  }}
}}
"""

REGION_LEVELS = f"""
code completeness(filter: $f) {{ {COMPLETENESS_FIELDS} }} stats(filter: $f) {{ {STATS_FIELDS} }}
children {{
  code completeness {{ {COMPLETENESS_FIELDS} }} stats {{ {STATS_FIELDS} }}
  children {{ code completeness {{ {COMPLETENESS_FIELDS} }} stats {{ {STATS_FIELDS} }}
    children {{ code completeness {{ {COMPLETENESS_FIELDS} }} stats {{ {STATS_FIELDS} }} }} }}
}}
"""
# Query.region counts the drill-down ahead (execution/drill_down.py); dashboard.region leaves it to the loaders.
REGION_TREE = f"query Regions($f: MineFilter) {{ region {{ {REGION_LEVELS} }} }}"
DASHBOARD_TREE = f"query Dashboard($f: MineFilter) {{ dashboard {{ region {{ {REGION_LEVELS} }} }} }}"


def _adds_up(node) -> None:
    children = node.get("children") or []
    if children:
        for name, value in node["completeness"].items():
            assert value == sum(c["completeness"][name] for c in children), (node["code"], "completeness", name)
        for name in NUMBERS:
            assert node["stats"][name] == sum(c["stats"][name] for c in children), (node["code"], "stats", name)


@pytest.mark.parametrize(("tier", "within"), [
    ("NATIONAL", "PROVINCE"), ("NATIONAL", "CITY"), ("NATIONAL", "COUNTY"),
    ("PROVINCE", "PROVINCE"),  # the caller's own region
    ("PROVINCE", "CITY"), ("COUNTY", "COUNTY"),
])
@pytest.mark.parametrize("spec", [None, {"scales": ["SMALL", "MEDIUM"]}])
async def test_mineral_tree_under_a_region_adds_up_at_every_node(gql, callers, mines, levels, db, tier, within, spec):
    caller, region = callers[tier], callers[within].region_code
    result = await gql(MINERAL_TREE, {"r": region, "f": spec}, caller.token)
    assert result.errors is None, result.errors
    by_mine = guarantor_levels(db)
    inside = [m for m in mines if visible(m, caller) and in_region(m, region, levels[region])]
    counted = [m for m in inside if matches(m, spec, levels)]
    nodes = 0
    for top in result.data["mineralTypes"]:
        for node in walk_tree(top):
            column = MINERAL_LEVEL[node["level"]]
            of_type = [m for m in inside if m[column] == node["code"]]
            assert node["completeness"] == expected_completeness(of_type, by_mine), node["code"]
            assert as_comparable(node["stats"]) == expected_stats([m for m in counted if m[column] == node["code"]])
            _adds_up(node)
            nodes += 1
    assert nodes > 50
    assert sum(t["completeness"]["total"] for t in result.data["mineralTypes"]) == len(inside) > 0


@pytest.mark.parametrize("query", [REGION_TREE, DASHBOARD_TREE], ids=["region", "dashboard"])
@pytest.mark.parametrize("tier", ["NATIONAL", "CITY"])
@pytest.mark.parametrize("spec", [{"scales": ["SMALL"]}, {"mineralCodes": ["10"], "over30Workers": True}])
async def test_region_tree_under_a_filter_adds_up_at_every_node(gql, callers, mines, levels, db, query, tier, spec):
    caller = callers[tier]
    result = await gql(query, {"f": spec}, caller.token)
    assert result.errors is None, result.errors
    root = result.data["region"] if "region" in result.data else result.data["dashboard"]["region"]
    by_mine = guarantor_levels(db)
    counted = [m for m in mines if visible(m, caller) and matches(m, spec, levels)]
    nodes = 0
    for node in walk_tree(root):
        inside = [m for m in counted if in_region(m, node["code"], levels[node["code"]])]
        assert node["completeness"] == expected_completeness(inside, by_mine), node["code"]
        assert as_comparable(node["stats"]) == expected_stats(inside), node["code"]
        _adds_up(node)
        nodes += 1
    assert nodes > 5 and 0 < root["stats"]["total"] < len([m for m in mines if visible(m, caller)])


ALIASED = """
query Aliased($f: MineFilter, $g: MineFilter) {
  region {
    code small: stats(filter: $f) { total } all: stats { total }
    children { code small: stats { total } all: stats { total } other: stats(filter: $g) { total }
      children { code small: stats { total } all: stats { total } other: stats { total } } }
  }
}
"""


async def test_each_aliased_statistic_takes_its_own_arguments_down(gql, callers, mines, levels):
    """Arguments flow by response key; one given below replaces the one from above for that subtree."""
    caller, small, large = callers["PROVINCE"], {"scales": ["SMALL"]}, {"scales": ["LARGE"]}
    result = await gql(ALIASED, {"f": small, "g": large}, caller.token)
    assert result.errors is None, result.errors
    seen = [m for m in mines if visible(m, caller)]
    for node in walk_tree(result.data["region"]):
        inside = [m for m in seen if in_region(m, node["code"], levels[node["code"]])]
        assert node["small"]["total"] == sum(matches(m, small, levels) for m in inside), node["code"]
        assert node["all"]["total"] == len(inside), node["code"]
        if "other" in node:
            assert node["other"]["total"] == sum(matches(m, large, levels) for m in inside), node["code"]


async def test_a_drill_down_with_its_filter_given_once_is_counted_ahead_once(app, gql, callers):
    """execution/drill_down.py reads the inherited filter too: one statement per statistic, as when the
    filter is repeated at every level (not another one for the unfiltered children)."""
    query = REGION_TREE.replace("query Regions", "query RegionsCountedAhead")  # not answered from the cache
    with StatementCounter.of(app) as counter:
        result = await gql(query, {"f": {"depthMin": 1}}, callers["NATIONAL"].token)
    assert result.errors is None and result.cache == "miss", result.errors
    assert sum(1 for _ in walk_tree(result.data["region"])) > 3000
    assert len(counter.stats_statements) == 2, counter.stats_statements  # stats, completeness
