"""The differential test of the fast executor (docs/decisions.md, "One function per field").

Two apps on the same database, one with FAST_EXECUTION on (execution/fast_execution.py answers
plain and fast fields without graphql-core's per-field machinery) and one with it off (every field
through graphql-core and its Strawberry resolver): every answer document, asked by every tier,
must come back byte for byte the same, errors and their paths included. A fast field calls the
very function its resolver calls, so what could drift is only the executor: argument coercion,
the statistics' arguments handed down a tree, completion, null and error propagation.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from execution import fast_execution
from resolvers.filters import GRAPHQL_NAMES
from schema.inputs import MineFilterInput
from settings import Settings
from support.queries import (
    COMPLETENESS, COMPLETENESS_FIELDS, DASHBOARD, DASHBOARD_DRILL_DOWN, DRILL_DOWN, ME, MINE_DETAIL,
    MINERAL_COMPLETENESS, MINERAL_STATS, MINES, OPTIONS, REGION_MINES, REGION_STATS, STATS_FIELDS,
    VERIFICATION_DRILL_DOWN, VERIFICATION_HOME,
)
from web.app import create_app

TIERS = ("NATIONAL", "PROVINCE", "CITY", "COUNTY", "ENTERPRISE")
SMALL = {"scales": ["SMALL"]}

# Aliases, the same field twice, __typename, directives, fragments (named and inline),
# a plain field asked after a resolved one, and a nested error.
SHAPES = """
query Shapes($skip: Boolean!, $id: ID!) {
  region {
    __typename
    n: name code
    stats { t: total total total __typename small @skip(if: $skip) large @include(if: $skip) ...More }
    children { ... on Region { code stats { ...More total } name } }
  }
  mine(id: $id) { id code scale lat: maxDepth productionStatus principal { name phone } __typename }
  missing: mine(id: "999999999") { id code }
}
fragment More on MineStats { medium over30Workers over800mDepth }
"""
# Fast fields around what they cannot answer: a resolver that waits (mines) under a
# fast list, the same field twice under two filters, an alias, an argument that fails
# (a nested NOT_FOUND, whose null travels up the non-null chain), parent.
MIXED = """
query Mixed($filter: MineFilter, $bad: MineFilter) {
  region {
    code
    children {
      code parent { code }
      all: stats { total }
      stats(filter: $filter) { total small }
      completeness { total complete }
      mines(first: 2) { totalCount edges { node { code } } }
      children { code stats(filter: $filter) { total } }
    }
  }
  broken: region {
    children { code children { stats(filter: $bad) { total } } }
  }
}
"""
# Arguments given once at the top flow down each tree, by response key (execution/drill_down.py);
# one given lower down replaces it for that subtree.
REGION_LEVELS = f"""
code completeness(filter: $f) {{ {COMPLETENESS_FIELDS} }} stats(filter: $f) {{ {STATS_FIELDS} }}
verification {{ total verified }}
children {{
  code completeness {{ total complete }} stats {{ {STATS_FIELDS} }} verification {{ total stale }}
  children {{ code completeness {{ total }} stats {{ total small }}
    children {{ code completeness {{ total }} stats {{ total large }} }} }}
}}
"""
FLOWING_DOWN = f"""
query FlowingDown($f: MineFilter, $g: MineFilter, $r: String) {{
  region {{ {REGION_LEVELS} }}
  dashboard {{ region {{ {REGION_LEVELS} }} }}
  aliased: region {{
    code small: stats(filter: $f) {{ total }} all: stats {{ total }}
    children {{ code small: stats {{ total }} all: stats {{ total }} other: stats(filter: $g) {{ total }}
      children {{ code small: stats {{ total }} all: stats {{ total }} other: stats {{ total }} }} }}
  }}
  mineralTypes {{
    code level
    completeness(regionCode: $r) {{ {COMPLETENESS_FIELDS} }}
    stats(regionCode: $r, filter: $f) {{ {STATS_FIELDS} }}
    verification(filter: $g) {{ total }}
    children {{
      code completeness {{ total complete }} stats {{ total small }} verification {{ total }}
      children {{ code completeness {{ total }} stats(filter: $g) {{ total large }} verification {{ total }} }}
    }}
  }}
}}
"""
# Errors under non-null chains, in every tree: a region outside the caller's scope, an unknown
# mineral code, an empty range, a non-finite number.
ERRORS = f"""
query Errors($outside: MineFilter, $unknown: MineFilter, $empty: MineFilter, $r: String) {{
  region {{ code children {{ code stats(filter: $outside) {{ total }} children {{ code }} }} }}
  dashboard {{ region {{ children {{ code completeness(filter: $unknown) {{ total }} }} }} stats {{ total }} }}
  mineralTypes {{ code children {{ code stats(regionCode: $r) {{ total }} }} }}
  other: mineralTypes {{ code children {{ code verification(filter: $empty) {{ total }} }} }}
  mines(filter: $empty, first: 1) {{ totalCount }}
}}
"""


def _cases(mine_id: str, province: str, county: str) -> list[tuple[str, str, dict]]:
    filtered = {"productionStatuses": ["NORMAL"], "scales": ["SMALL", "MEDIUM"]}
    return [
        ("drill-down", DRILL_DOWN, {}),
        ("drill-down filtered", DRILL_DOWN, {"filter": filtered}),
        ("drill-down by mineral", DRILL_DOWN, {"filter": {"mineralCodes": ["10"], "depthMin": 100}}),
        ("drill-down from the dashboard", DASHBOARD_DRILL_DOWN, {}),
        ("drill-down from the dashboard, filtered", DASHBOARD_DRILL_DOWN, {"filter": filtered}),
        ("region", REGION_STATS, {"code": province, "filter": SMALL}),
        ("dashboard", DASHBOARD, {}),
        ("mineral stats", MINERAL_STATS, {}),
        ("mineral stats in a county, filtered", MINERAL_STATS, {"regionCode": county, "filter": filtered}),
        ("mineral completeness", MINERAL_COMPLETENESS, {"regionCode": province}),
        ("completeness", COMPLETENESS, {}),
        ("completeness filtered", COMPLETENESS, {"filter": {"missingGuarantorLevel": "CITY"}}),
        ("verification", VERIFICATION_DRILL_DOWN, {}),
        ("verification filtered", VERIFICATION_DRILL_DOWN, {"filter": {"verification": ["UNVERIFIED"]}}),
        ("verification home", VERIFICATION_HOME, {}),
        ("mines", MINES, {"first": 30}),
        ("mines filtered", MINES, {"first": 5, "filter": {"nameContains": "矿", "over30Workers": False}}),
        ("region mines", REGION_MINES, {"code": county, "first": 3, "filter": SMALL}),
        ("mine", MINE_DETAIL, {"id": mine_id}),
        ("me", ME, {}),
        ("options", OPTIONS, {}),
        ("shapes, skip", SHAPES, {"skip": True, "id": mine_id}),
        ("shapes, include", SHAPES, {"skip": False, "id": mine_id}),
        ("mixed", MIXED, {"filter": SMALL, "bad": {"regionCode": "990000"}}),
        ("mixed, invalid filter", MIXED, {"filter": {"depthMin": 5, "depthMax": 1}, "bad": None}),
        ("flowing down", FLOWING_DOWN, {"f": SMALL, "g": {"scales": ["LARGE"]}, "r": province}),
        ("flowing down, nothing given", FLOWING_DOWN, {}),
        ("errors", ERRORS, {"outside": {"regionCode": "990000"}, "unknown": {"mineralCodes": ["nope"]},
                            "empty": {"workersPerShiftMin": 9, "workersPerShiftMax": 1}, "r": "990000"}),
    ]


async def _client(settings: Settings, stack) -> httpx.AsyncClient:
    app = create_app(settings)
    await stack.enter_async_context(app.router.lifespan_context(app))
    return await stack.enter_async_context(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://minegraph.test"))


@pytest.fixture(scope="module")
async def both(env):
    """Fast execution on and off, on the shared database, without a response cache (both really execute)."""
    from contextlib import AsyncExitStack

    common = {"database_url": env.settings.database_url, "secret_key": "test-secret", "response_cache_mb": 0}
    async with AsyncExitStack() as stack:
        yield {fast: await _client(Settings(**common, fast_execution=fast), stack) for fast in (True, False)}


@pytest.fixture(scope="module")
def cases(callers, db):
    county = callers["COUNTY"].region_code
    return _cases(str(callers["ENTERPRISE"].mine_id), callers["PROVINCE"].region_code, county)


async def _answer(client: httpx.AsyncClient, token: str, query: str, variables: dict) -> bytes:
    response = await client.post("/graphql", json={"query": query, "variables": variables},
                                 headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.content


LABELS = [label for label, _, _ in _cases("1", "110000", "110101")]


async def _differences(both, callers, cases) -> list[str]:
    """The cases and tiers whose answers differ between the fast and the normal path."""
    different = []
    for label, query, variables in cases:
        for tier in TIERS:
            token = callers[tier].token
            fast = await _answer(both[True], token, query, variables)
            if fast != await _answer(both[False], token, query, variables):
                different.append(f"{label} as {tier}")
    return different


@pytest.mark.parametrize("label", LABELS)
async def test_the_fast_path_answers_exactly_as_the_normal_path(both, callers, cases, label):
    assert await _differences(both, callers, [c for c in cases if c[0] == label]) == []


async def test_the_documents_really_ask_what_they_mean_to(both, callers, cases):
    """The error cases fail where meant to, the others answer (else the comparison proves little)."""
    token = callers["PROVINCE"].token
    for label, query, variables in cases:
        body = await _answer(both[False], token, query, variables)
        assert (b'"errors"' in body) == (label.startswith(("mixed", "errors")) or "shapes" in label), label


async def test_the_differential_test_catches_a_fast_path_that_drifts(both, callers, cases, monkeypatch):
    """Broken on purpose (fast fields ignore the arguments handed down the tree), the fast path
    must be caught: by the documents whose statistics take their filter from above."""
    monkeypatch.setattr(fast_execution, "scoped", lambda _source, _name, _key, arguments: arguments)
    different = await _differences(both, callers, [c for c in cases if c[0].startswith("flowing down")])
    assert "flowing down as NATIONAL" in different


@pytest.fixture
def fields_executed(monkeypatch):
    """Counts graphql-core's field executions."""
    calls = {"n": 0}
    original = StrawberryGraphQLCoreExecutionContext.execute_field

    def counting(self, *args, **kwargs):
        calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counting)
    return calls


@pytest.mark.parametrize("label", ["drill-down", "mineral stats", "flowing down"])
async def test_the_fast_path_is_taken_where_it_pays(both, callers, cases, fields_executed, label):
    _, query, variables = next(c for c in cases if c[0] == label)
    counted = {}
    for on in (True, False):
        fields_executed["n"] = 0
        await _answer(both[on], callers["NATIONAL"].token, query, variables)
        counted[on] = fields_executed["n"]
    assert counted[True] * 10 < counted[False], counted


def test_the_filter_names_are_the_schema_s():
    """resolvers/filters.GRAPHQL_NAMES, by which a coerced filter is read, names every MineFilter field."""
    from strawberry.utils.str_converters import to_camel_case

    fields = {f.name for f in dataclasses.fields(MineFilterInput)}
    assert GRAPHQL_NAMES == {name: to_camel_case(name) for name in fields}
