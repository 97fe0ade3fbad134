"""Statistics equal a recount of the mines themselves, and cost one statement per level."""

from __future__ import annotations

import re

import pytest

from support.queries import DASHBOARD, DASHBOARD_DRILL_DOWN, DRILL_DOWN, MINERAL_STATS, REGION_STATS
from support.statements import StatementCounter, uncached_document
from support.reference import as_comparable, expected_stats, in_region, matches

FILTERS = [
    None,
    {"scales": ["LARGE", "MEDIUM"]},
    {"mineralCodes": ["10"], "productionStatuses": ["NORMAL", "TRIAL"]},
    {"over30Workers": True, "depthMin": 200, "depthMax": 900},
    {"over800mDepth": False, "workersPerShiftMax": 30, "supervisoryBodies": ["COUNTY"]},
    {"designCapacityMin": 5, "developmentMethods": ["SHAFT", "COMBINED"]},
    {"nameContains": "金"},
]


def _walk(node, depth=0):
    yield node, depth
    for child in node.get("children") or []:
        yield from _walk(child, depth + 1)


@pytest.mark.parametrize("spec", FILTERS, ids=lambda s: str(s))
async def test_national_drill_down_equals_recount(gql, callers, mines, levels, spec):
    result = await gql(DRILL_DOWN, {"filter": spec}, callers["NATIONAL"].token)
    assert result.errors is None, result.errors
    matching = [m for m in mines if matches(m, spec, levels)]
    checked = 0
    for node, _depth in _walk(result.data["region"]):
        inside = [m for m in matching if in_region(m, node["code"], levels[node["code"]])]
        assert as_comparable(node["stats"]) == expected_stats(inside), node["code"]
        children = node.get("children") or []
        if children:
            # Parent = sum of children, for every measure.
            for key in ("total", "large", "medium", "small", "over30Workers", "over800mDepth"):
                assert node["stats"][key] == sum(c["stats"][key] for c in children), (node["code"], key)
        checked += 1
    assert checked > 3000  # the whole tree: nation, provinces, cities, counties


async def test_every_statistic_has_all_categories_in_order(gql, callers):
    result = await gql(DASHBOARD, token=callers["NATIONAL"].token)
    categories = [c["mineral"]["code"] for c in result.data["dashboard"]["stats"]["byCategory"]]
    assert categories == ["10", "20", "30", "40"]


@pytest.mark.parametrize("spec", FILTERS[:4], ids=lambda s: str(s))
@pytest.mark.parametrize("tier", ["NATIONAL", "PROVINCE", "COUNTY"])
async def test_mineral_drill_down_equals_recount(gql, callers, mines, levels, spec, tier):
    caller = callers[tier]
    region = None if tier == "NATIONAL" else caller.region_code
    result = await gql(MINERAL_STATS, {"regionCode": region, "filter": spec}, caller.token)
    assert result.errors is None, result.errors
    scope = [m for m in mines if in_region(m, caller.region_code, levels[caller.region_code])]
    matching = [m for m in scope if matches(m, spec, levels)]
    column = {1: "category_code", 2: "group_code", 3: "mineral_code"}
    for top in result.data["mineralTypes"]:
        for node, _ in _walk(top):
            inside = [m for m in matching if m[column[node["level"]]] == node["code"]]
            assert as_comparable(node["stats"]) == expected_stats(inside), node["code"]


async def test_region_stats_of_a_province_and_its_children(gql, callers, mines, levels):
    caller = callers["PROVINCE"]
    result = await gql(REGION_STATS, {"code": None, "filter": {"scales": ["SMALL"]}}, caller.token)
    region = result.data["region"]
    assert region["code"] == caller.region_code and region["parent"] is None
    small = [m for m in mines if m["province_code"] == caller.region_code and m["scale"] == "SMALL"]
    assert region["stats"]["total"] == len(small) > 0
    assert sum(c["stats"]["total"] for c in region["children"]) == len(small)


async def test_three_level_drill_down_costs_one_statement_per_level(app, gql, callers):
    """Nation, provinces, cities, counties: four levels of stats, at most four
    statements, not one per node; and at least one (the answer was counted)."""
    query = uncached_document(DRILL_DOWN, "DrillDownPerLevel")
    with StatementCounter.of(app) as counter:
        result = await gql(query, {"filter": {"scales": ["SMALL", "MEDIUM", "LARGE"]}}, callers["NATIONAL"].token)
    assert result.errors is None and result.cache == "miss"
    nodes = sum(1 for _ in _walk(result.data["region"]))
    assert nodes > 3000
    assert 1 <= len(counter.stats_statements) <= 4, counter.stats_statements
    # Besides counting, one statement: the token lookup, which also reads the data version.
    assert len(counter.statements) - len(counter.stats_statements) == 1, counter.statements


@pytest.mark.parametrize(("variables", "source"), [
    ({}, "mine_tally"),  # `$filter` declared but not sent: no filter, counted ahead all the same
    ({"filter": {"mineralCodes": ["10"], "productionStatuses": ["NORMAL", "TRIAL"]}}, "mine_tally"),
    ({"filter": {"depthMin": 1}}, "mine"),  # not what the tally is keyed by: the mines themselves
])
async def test_a_whole_drill_down_is_counted_by_one_statement(app, gql, callers, variables, source):
    """The drill-down's shape is read before it runs: one statement counts every node."""
    unique = uncached_document(DRILL_DOWN, f"DrillDownOneStatement{len(variables)}{source}")
    with StatementCounter.of(app) as counter:
        result = await gql(unique, variables, callers["NATIONAL"].token)
    assert result.errors is None and result.cache == "miss"
    assert sum(1 for _ in _walk(result.data["region"])) > 3000
    assert len(counter.stats_statements) == 1, counter.stats_statements
    assert re.search(rf"FROM {source}\b", counter.stats_statements[0]), counter.stats_statements[0]


@pytest.mark.parametrize(("spec", "source"), [
    ({"productionStatuses": ["SUSPENDED", "LONG_SUSPENDED"]}, "mine_tally"),
    ({"developmentMethods": ["ADIT", "RAMP"], "over30Workers": True}, "mine"),
], ids=["tally", "mines"])
async def test_a_drill_down_under_the_dashboard_is_batched_per_level(app, gql, callers, mines, levels, spec, source):
    """`dashboard { region { children … } } }` reaches the regions without Query.region,
    so nothing counts ahead: the DataLoader alone must batch each level of provinces,
    cities and counties into one statement (at least one: counted, not cached)."""
    with StatementCounter.of(app) as counter:
        result = await gql(DASHBOARD_DRILL_DOWN, {"filter": spec}, callers["NATIONAL"].token)
    assert result.errors is None, result.errors
    assert result.cache == "miss"
    matching = [m for m in mines if matches(m, spec, levels)]
    below = [(node, depth) for node, depth in _walk(result.data["dashboard"]["region"]) if depth > 0]
    assert len(below) > 3000 and {depth for _, depth in below} == {1, 2, 3}
    for node, _depth in below:
        inside = [m for m in matching if in_region(m, node["code"], levels[node["code"]])]
        assert as_comparable(node["stats"]) == expected_stats(inside), node["code"]
    assert 1 <= len(counter.stats_statements) <= 3, counter.stats_statements
    assert all(re.search(rf"FROM {source}\b", s) for s in counter.stats_statements), counter.stats_statements
    assert len(counter.statements) - len(counter.stats_statements) == 1, counter.statements  # the token


async def test_mineral_drill_down_costs_one_statement(app, gql, callers):
    """One GROUP BY leaf counts the whole mineral tree, however many levels the query asks for."""
    query = uncached_document(MINERAL_STATS, "MineralsInOneStatement")
    with StatementCounter.of(app) as counter:
        result = await gql(query, {"filter": {"over30Workers": False}}, callers["NATIONAL"].token)
    assert result.errors is None and result.cache == "miss"
    assert len(counter.stats_statements) == 1, counter.stats_statements


def test_counts_are_the_sources_of_the_count_types():
    """MineStats, Completeness and VerificationStats read their counts off resolvers/stats.Counts by
    Python name: every count they declare is an attribute of it, and so is every name a measure counts
    (an empty Counts, a node without mines, reads 0)."""
    from resolvers.stats import Counts, completeness, mine_stats, verification
    from schema.types.campaign import CompletenessType
    from schema.types.stats import MineStatsType
    from schema.types.verification import VerificationStatsType
    from settings import Settings

    for type_, measures in ((MineStatsType, mine_stats), (CompletenessType, completeness),
                            (VerificationStatsType, verification)):
        declared = {f.python_name for f in type_.__strawberry_definition__.fields if f.base_resolver is None}
        counted = [name for name, _ in measures(Settings())]
        assert declared == set(counted), type_
        counts = Counts(tuple(counted), list(range(1, len(counted) + 1)))
        assert [getattr(counts, name) for name in counted] == counts.numbers
        assert all(getattr(Counts(), name) == 0 for name in declared)
