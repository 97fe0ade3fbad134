"""GraphQL abuse limits, persisted operations and production mode."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from contextlib import AsyncExitStack

import httpx
import pytest
from graphql import parse, validate

from web.app import create_app
from support.queries import DRILL_DOWN, LOGIN
from schema.build import build_schema
from execution.documents import OPERATIONS_DIR, registry
from settings import ROOT, Settings

dev_schema = build_schema(Settings())  # the development schema: the SDL of schema.graphql


async def _raw(client, body, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", content=body if isinstance(body, bytes) else None,
                                 json=None if isinstance(body, bytes) else body,
                                 headers={**headers, "content-type": "application/json"}, **kwargs)
    return response.status_code, response.json()


def _codes(body) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_depth_tokens_and_aliases_are_limited(client, callers):
    token = callers["NATIONAL"].token
    deep = "query { region { " + "children { " * 12 + "code" + " }" * 12 + " } }"
    status, body = await _raw(client, {"query": deep}, token)
    assert status == 200 and set(_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "depth" in body["errors"][0]["message"]
    many_tokens = "query { " + " ".join(f"a{i}: options {{ scales {{ value }} }}" for i in range(400)) + " }"
    status, body = await _raw(client, {"query": many_tokens}, token)
    assert _codes(body) == ["GRAPHQL_PARSE_FAILED"] and "tokens" in body["errors"][0]["message"]
    aliases = "query { " + " ".join(f"a{i}: me {{ username }}" for i in range(31)) + " }"
    status, body = await _raw(client, {"query": aliases}, token)
    assert "GRAPHQL_VALIDATION_FAILED" in _codes(body)


async def test_batching_is_off_and_answers_json(client, callers):
    status, body = await _raw(client, [{"query": "{ me { username } }"}] * 2, callers["NATIONAL"].token)
    assert status == 400 and _codes(body) == ["BAD_USER_INPUT"]


async def test_oversized_bodies_are_refused(client, callers):
    huge = json.dumps({"query": "{ me { username } }", "variables": {"x": "y" * 200_000}}).encode()
    status, body = await _raw(client, huge, callers["NATIONAL"].token)
    assert status == 413 and _codes(body) == ["BAD_USER_INPUT"]


async def test_the_cost_limit_refuses_every_county_with_its_mines(client, callers):
    token = callers["NATIONAL"].token
    greedy = """query { region { children { children { children {
        code mines(first: 20) { edges { node { id name guarantors { name } } } } } } } } }"""
    status, body = await _raw(client, {"query": greedy}, token)
    assert _codes(body) == ["BAD_USER_INPUT"] and "data" not in body  # refused before execution
    assert "objects" in body["errors"][0]["message"]
    # The whole national drill-down with every statistic stays within the limit.
    status, body = await _raw(client, {"query": DRILL_DOWN}, token)
    assert status == 200 and "errors" not in body


async def test_persisted_operations_validate_and_are_served_by_hash(client, callers):
    assert {op.name for op in registry().values()} >= {"Home", "RegionDrillDown", "MineList", "MineDetail",
                                                        "SetGuarantor", "UpdateMineLocation", "Login"}
    for op in registry().values():
        assert validate(dev_schema._schema, parse(op.document)) == [], op.name
    home = next(op for op in registry().values() if op.name == "Home")
    by_hash = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": home.sha256}}}
    status, body = await _raw(client, by_hash, callers["COUNTY"].token)
    assert status == 200 and body["data"]["dashboard"]["region"]["code"] == callers["COUNTY"].region_code
    mismatch = {**by_hash, "query": "{ me { username } }"}
    assert _codes((await _raw(client, mismatch, callers["COUNTY"].token))[1]) == ["BAD_USER_INPUT"]
    unknown = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}}
    assert _codes((await _raw(client, unknown, callers["COUNTY"].token))[1]) == ["BAD_USER_INPUT"]


@pytest.fixture(scope="module")
async def production(settings):
    prod = Settings(database_url=settings.database_url, secret_key="test-secret", minegraph_env="production")
    app = create_app(prod)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        yield await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://prod.test")
        )


def _persisted(name: str, variables: dict | None = None) -> dict:
    op = next(op for op in registry().values() if op.name == name)
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": op.sha256}}, "variables": variables or {}}


async def test_production_runs_only_persisted_operations(production):
    status, body = await _raw(production, _persisted("Login", {"username": "000000-001", "password": Settings().demo_password}))
    assert status == 200, body
    token = body["data"]["login"]["token"]
    status, body = await _raw(production, _persisted("RegionDrillDown", {"code": None}), token)
    assert status == 200 and body["data"]["region"]["code"] == "000000"
    status, body = await _raw(production, {"query": LOGIN, "variables": {"u": "000000-001", "p": "x"}})
    assert status == 400 and _codes(body) == ["BAD_USER_INPUT"] and "persisted" in body["errors"][0]["message"]


async def test_production_hides_graphiql_introspection_and_suggestions(production, client):
    page = await production.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    dev_page = await client.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" in dev_page.text.lower()
    introspection = "query IntrospectionProbe { __schema { types { name } } }"

    prod_schema = production._transport.app.router.routes[0].endpoint.schema
    result = await prod_schema.execute(introspection)
    assert result.errors and "introspection" in result.errors[0].message.lower()
    result = await prod_schema.execute("{ dashbord { updatedAt } }")
    assert result.errors and "Did you mean" not in result.errors[0].message
    result = await dev_schema.execute("{ dashbord { updatedAt } }")
    assert "Did you mean" in result.errors[0].message


async def test_slow_queries_are_stopped_but_writes_are_not(settings, callers):
    hurried = Settings(database_url=settings.database_url, secret_key="test-secret", request_timeout_s=0.001,
                       response_cache_mb=0)
    app = create_app(hurried)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://slow.test") as c:
            status, body = await _raw(c, {"query": DRILL_DOWN}, callers["NATIONAL"].token)
            assert status == 200 and _codes(body) == ["RATE_LIMITED"] and "longer than" in body["errors"][0]["message"]
            assert body["data"] is None  # stopped during execution: `data` is there, null
            status, body = await _raw(c, {"query": LOGIN, "variables": {"u": "000000-006", "p": Settings().demo_password}})
            assert body["data"]["login"]["token"]


def test_operations_command_lists_each_hash():
    done = subprocess.run([sys.executable, "-m", "cli", "operations", "--json"], cwd=ROOT, capture_output=True,
                          text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60)
    manifest = json.loads(done.stdout)
    for path in OPERATIONS_DIR.glob("*.graphql"):
        assert manifest[path.stem] == hashlib.sha256(path.read_bytes()).hexdigest()


async def test_each_document_is_validated_once_and_its_refusal_kept(client, callers, monkeypatch):
    """Validation is cached by document text; a refused document stays refused."""
    import execution.documents as documents

    runs = []
    original = documents.validate_document
    monkeypatch.setattr(documents, "validate_document", lambda *a: runs.append(a[1]) or original(*a))
    token = callers["NATIONAL"].token
    fine = "query ValidatedOnce { options { scales { value label } } }"
    deep = "query DeepOnce { region { " + "children { " * 12 + "code" + " }" * 12 + " } }"
    for _ in range(3):
        assert _codes((await _raw(client, {"query": fine}, token))[1]) == []
        status, body = await _raw(client, {"query": deep}, token)
        assert _codes(body) == ["GRAPHQL_VALIDATION_FAILED"] and "depth" in body["errors"][0]["message"]
    assert len(runs) == 2


async def test_each_cost_verdict_is_reached_once_per_operation_variables_and_region(client, callers, monkeypatch):
    """The estimate walks the region tree; its verdict is remembered with the document, by variables
    and the caller's root region, and a refusal stays the same refusal."""
    import execution.documents as documents

    runs = []
    original = documents.refusal
    monkeypatch.setattr(documents, "refusal", lambda *a: runs.append(a[3:6]) or original(*a))
    greedy = ("query CostOnce($first: Int) { region { children { children { children { "
              "code mines(first: $first) { totalCount } } } } } }")
    national, county = callers["NATIONAL"].token, callers["COUNTY"].token
    messages = {20: set(), 30: set()}
    for _ in range(3):
        for token, first in ((national, 20), (national, 30), (county, 20)):
            status, body = await _raw(client, {"query": greedy, "variables": {"first": first}}, token)
            if token is national:  # every county's mines: refused, each time with the same figure
                assert _codes(body) == ["BAD_USER_INPUT"] and "data" not in body
                messages[first].add(body["errors"][0]["message"])
            else:  # a county has no regions below it
                assert "errors" not in body, body
    assert [len(found) for found in messages.values()] == [1, 1] and messages[20] != messages[30]
    assert len(runs) == 3, runs
