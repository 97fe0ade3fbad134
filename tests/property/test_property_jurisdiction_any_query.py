"""Jurisdiction, proven for any query: arbitrary valid documents generated from schema.graphql by
hypothesis-graphql, checked for what holds for any query: no mine or region outside the scope
anywhere in the answer, no count above the caller's total, every error coded, no INTERNAL, never a
5xx. The precise property (every answer equal to the recount) is test_property_jurisdiction.py;
both share the world, the pool of callers and the report of jurisdiction_world.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from graphql import (
    FieldNode, GraphQLObjectType, InlineFragmentNode, NameNode, SelectionSetNode, build_schema, parse, print_ast,
)
from graphql.type import get_named_type
from hypothesis import given, note
from hypothesis import strategies as st

from support.jurisdiction_checks import Case, record_failure, send
from support.jurisdiction_strategies import draw_caller
from support.jurisdiction_world import FIGURES, GENERIC, module_setup
from support.reference_props import CONTRACT_CODES, Tally

pytestmark = pytest.mark.property

SCHEMA_SDL = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text(encoding="utf-8")
GRAPHQL_SCHEMA = build_schema(SCHEMA_SDL)


@pytest.fixture(scope="module")
async def setup(env):
    """The world and the logged-in pool, shared with the other jurisdiction property module."""
    async with module_setup(env) as s:
        yield s


def _augment(selection_set: SelectionSetNode, parent: GraphQLObjectType) -> SelectionSetNode:
    """The selection with every Mine naming its `id` and every Region and MineralType its `code`,
    so that the walk can place each object (graphql-core's AST nodes are immutable: rebuilt)."""
    selections = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode) and node.selection_set is not None:
            definition = parent.fields.get(node.name.value)
            named = get_named_type(definition.type) if definition is not None else None
            if isinstance(named, GraphQLObjectType):
                node = replace(node, selection_set=_augment(node.selection_set, named))
        elif isinstance(node, InlineFragmentNode):
            node = replace(node, selection_set=_augment(node.selection_set, parent))
        selections.append(node)
    wanted = {"Mine": "id", "Region": "code", "MineralType": "code"}.get(parent.name)
    keys = {(f.alias or f.name).value for f in selections if isinstance(f, FieldNode)}
    if wanted and wanted not in keys:
        selections.append(FieldNode(name=NameNode(value=wanted), arguments=(), directives=()))
    return replace(selection_set, selections=tuple(selections))


def _print_augmented(document):
    definitions = []
    for definition in document.definitions:
        root = GRAPHQL_SCHEMA.query_type if definition.operation.value == "query" else GRAPHQL_SCHEMA.mutation_type
        definitions.append(replace(definition, selection_set=_augment(definition.selection_set, root)))
    return print_ast(replace(document, definitions=tuple(definitions)))


def _walk(case: Case, value, parent: GraphQLObjectType, selection_set, what: str, scope_total: int) -> None:
    """Walk an answer beside its document: check every mine, region and count in it."""
    if value is None:
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _walk(case, item, parent, selection_set, f"{what}[{i}]", scope_total)
        return
    if parent.name == "Mine" and "id" in value:
        case.mine({k: v for k, v in value.items() if k in ("id", "code")}, what)
    elif parent.name == "Region" and "code" in value:
        case.region(value, what)
    elif parent.name in ("MineStats", "Completeness", "VerificationStats") and isinstance(value.get("total"), int):
        FIGURES["counts_checked"] += 1
        if value["total"] > scope_total:
            case.fail("leak", f"{what}.total {value['total']} is more than the {scope_total} mines in scope")
    elif parent.name == "MineralCount" and isinstance(value.get("count"), int):
        FIGURES["counts_checked"] += 1
        if value["count"] > scope_total:
            case.fail("leak", f"{what}.count {value['count']} is more than the {scope_total} mines in scope")
    elif parent.name == "MineConnection" and isinstance(value.get("totalCount"), int):
        FIGURES["counts_checked"] += 1
        if value["totalCount"] > scope_total:
            case.fail("leak", f"{what}.totalCount {value['totalCount']} is more than the {scope_total} mines in scope")
    for node in _fields(selection_set):
        key = (node.alias or node.name).value
        definition = parent.fields.get(node.name.value)
        if definition is None or key not in value or node.selection_set is None:
            continue
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLObjectType):
            _walk(case, value[key], named, node.selection_set, f"{what}.{key}", scope_total)


def _fields(selection_set):
    for s in selection_set.selections:
        if isinstance(s, FieldNode):
            yield s
        elif isinstance(s, InlineFragmentNode):
            yield from _fields(s.selection_set)


def _generic_queries():
    import hypothesis_graphql

    return hypothesis_graphql.queries(SCHEMA_SDL, print_ast=_print_augmented)


@GENERIC
@given(data=st.data())
async def test_any_valid_query_stays_inside_the_jurisdiction(setup, data):
    s, env = setup, setup.env
    username, who, token = draw_caller(data, s)
    query = data.draw(_generic_queries(), label="query")
    note(f"caller {username} ({who.tier} {who.region_code} mine {who.mine_id})")
    result = await send(env.gql, query, None, token, username)
    FIGURES["generic cases"] += 1
    FIGURES["requests"] += 1
    case = Case(s, who, env.gql, token)
    if result.status >= 500:
        case.fail("wrong", f"HTTP {result.status}")
    for error in result.errors or []:
        code = (error.get("extensions") or {}).get("code")
        FIGURES["errors_checked"] += 1
        if code not in CONTRACT_CODES or code == "INTERNAL":
            case.fail("wrong", f"error code {code!r}: {error}")
    if result.data:
        operation = parse(query).definitions[0]
        _walk(case, result.data, GRAPHQL_SCHEMA.query_type, operation.selection_set, "data",
              len(s.world.visible_mines(who)))
    if case.problems:
        record_failure(case, query, {}, result.status, result.errors)
    assert not case.problems, "\n".join(f"{kind}: {message}" for kind, message in case.problems[:15])


# --------------------------------------------------------------------------- what this property found, reduced to one request


async def test_a_number_written_into_a_drill_down_filter_is_counted(setup):
    """Regression (found by test_any_valid_query_stays_inside_the_jurisdiction on PostgreSQL, fixed
    in 1c9ff00): the drill-down prefetch (execution/drill_down.py) read filter arguments from the
    selection, where Strawberry gives a literal's source text ("800", not 800.0). PostgreSQL
    refused `max_depth <= '800'` (double precision <= character varying) and the field answered
    INTERNAL; SQLite happened to convert the text and answered right."""
    query = ("{ region { code stats(filter: {depthMax: 800, workersPerShiftMin: 31}) { total } "
             "children { code stats(filter: {depthMax: 800, workersPerShiftMin: 31}) { total } } } }")
    national = next(u for u in setup.pool if setup.world.accounts[u]["tier"] == "NATIONAL")
    result = await send(setup.env.gql, query, None, setup.tokens[national], national)
    assert result.errors is None, result.errors
    tally = Tally(setup.world, setup.world.who(national), {"depthMax": 800.0, "workersPerShiftMin": 31})
    assert result.data["region"]["stats"]["total"] == len(tally.selected) > 0
    for child in result.data["region"]["children"]:
        assert child["stats"]["total"] == len(tally.in_region(child["code"])), child["code"]
