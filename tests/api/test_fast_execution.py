"""execution/fast_execution.py completes plain scalar fields and direct fields (a region's
children, stats, completeness) without graphql-core's per-field machinery; every answer
must be byte for byte the one the normal path gives, errors and their paths included."""

from __future__ import annotations

import httpx
import pytest
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from web.app import create_app
from execution.fast_execution import FastExecutionContext
from settings import Settings
from support.queries import COMPLETENESS, DASHBOARD, DRILL_DOWN, MINERAL_STATS, MINES, ME, OPTIONS

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
# Direct fields around what they cannot answer: a resolver that waits (mines) under a
# direct list, the same field twice under two filters, an alias, an argument that fails
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
CASES = [
    ("drill-down", DRILL_DOWN, {}),
    ("drill-down filtered", DRILL_DOWN, {"filter": {"productionStatuses": ["NORMAL"], "scales": ["SMALL"]}}),
    ("dashboard", DASHBOARD, {}),
    ("mineral tree", MINERAL_STATS, {}),
    ("mine list", MINES, {"first": 30}),
    ("me", ME, {}),
    ("options", OPTIONS, {}),
    ("shapes, skip", SHAPES, {"skip": True}),
    ("shapes, include", SHAPES, {"skip": False}),
    ("completeness drill-down", COMPLETENESS, {}),
    ("mixed", MIXED, {"filter": {"scales": ["SMALL"]}, "bad": {"regionCode": "990000"}}),
    ("mixed, invalid filter", MIXED, {"filter": {"depthMin": 5, "depthMax": 1}, "bad": None}),
]


@pytest.fixture
def fields_executed(monkeypatch):
    """Counts graphql-core's field executions, and switches the fast path off on request."""
    calls = {"n": 0}
    original = StrawberryGraphQLCoreExecutionContext.execute_field

    def counting(self, *args, **kwargs):
        calls["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counting)

    def normal_path() -> None:
        monkeypatch.setattr(FastExecutionContext, "execute_fields",
                            StrawberryGraphQLCoreExecutionContext.execute_fields)

    calls["normal_path"] = normal_path
    return calls


@pytest.fixture(scope="module")
async def uncached(env):
    """An app on the shared database without a response cache, so both paths really execute."""
    settings = Settings(database_url=env.settings.database_url, secret_key="test-secret", response_cache_mb=0)
    app = create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://minegraph.test"
    ) as client:
        yield client


@pytest.mark.parametrize(("label", "query", "variables"), CASES, ids=[c[0] for c in CASES])
async def test_the_fast_path_answers_exactly_as_the_normal_path(uncached, callers, mines, fields_executed, label, query, variables):
    variables = {**variables, "id": str(mines[0]["id"])} if "$id" in query else variables
    headers = {"authorization": f"Bearer {callers['NATIONAL'].token}"}

    async def answer() -> bytes:
        response = await uncached.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        assert response.status_code == 200
        return response.content

    fast = await answer()
    fast_fields = fields_executed["n"]
    fields_executed["normal_path"]()
    fields_executed["n"] = 0
    normal = await answer()
    assert fast == normal
    assert fields_executed["n"] >= fast_fields
    if "drill-down" in label:
        assert fields_executed["n"] > 20 * fast_fields  # the fast path is taken where it pays
    if label.startswith("mixed"):
        assert b'"errors"' in fast  # the failing parts were really asked
