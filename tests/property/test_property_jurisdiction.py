"""Jurisdiction, proven: property-based tests of every read path against an independent recount.

Hypothesis draws a caller (any tier; regions with mines and without; enterprise accounts) and a
document of one to three root fields over every path — dashboard, region(code) with
children/stats/completeness/mines at random depths, mines(filter, first, after) followed page by
page (and a cursor reused under another filter), mine(id), mineralTypes{stats(regionCode,
filter)}, minesNear, me, guarantorSuggestions — with random MineFilters (every field, codes inside
and outside the scope, unknown codes, min > max, over-long names), passed as variables or, in half
the documents, written into the document as literals (as GraphiQL users do). Every answer is
compared with tests/support/reference.py + tests/support/reference_props.py, computed from the database in plain
Python:

- every returned mine is visible to the caller and matches the filter; every returned region is
  inside the jurisdiction (a returned object outside it is a *leak*);
- every count (MineStats, Completeness, totalCount, page contents) equals the recount (a
  difference is a *miscount*);
- refused values get exactly the expected codes, and regions or mines outside the scope answer
  NOT_FOUND with the same message as ones that do not exist.

A second property, over arbitrary valid queries generated from schema.graphql by hypothesis-graphql,
is in test_property_jurisdiction_any_query.py. The pieces: jurisdiction_world (settings from the
environment, the pool of logged-in callers, the report), jurisdiction_strategies (values),
jurisdiction_documents (selection sets, variables or literals), jurisdiction_checks (one request's
checks against the recount), jurisdiction_roots and jurisdiction_mine_roots (the root fields).
"""

from __future__ import annotations

import csv
import io
import json
import time

import prcoords
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from support.jurisdiction_checks import Case, error_codes, record_failure, send
from support.jurisdiction_documents import Doc
from support.jurisdiction_mine_roots import Mine, Mines, MinesNear
from support.jurisdiction_roots import Dashboard, Me, MineralTypes, Region, RegionLevelSelection, Root, Suggestions
from support.jurisdiction_strategies import (
    BOGUS_MINE_IDS, BOGUS_MINERALS, draw_caller, mine_filters, page_sizes, region_code_values,
)
from support.jurisdiction_world import CASES, FIGURES, PROPERTY, Setup, module_setup
from support.reference_props import CONTRACT_CODES, GUARANTOR_LEVELS, NEAR_RESULTS, Who, filter_problems, matches_all

pytestmark = pytest.mark.property


@pytest.fixture(scope="module")
async def setup(env):
    """The world and the logged-in pool, shared with the other jurisdiction property module."""
    async with module_setup(env) as s:
        yield s


# --------------------------------------------------------------------------- drawing a case


def draw_root(data, s: Setup, username: str, who: Who) -> Root:
    kind = data.draw(st.sampled_from(["dashboard", "region", "region", "region", "mines", "mines", "mines", "mine",
                                      "mineralTypes", "mineralTypes", "minesNear", "me", "suggestions"]), label="kind")
    filters = mine_filters(s, username)
    if kind == "dashboard":
        return Dashboard()
    if kind == "region":
        code = data.draw(st.none() | region_code_values(s, username), label="region code")
        depth = data.draw(st.integers(0, 2), label="children depth")
        levels = []
        for d in range(depth + 1):
            levels.append(RegionLevelSelection(
                stats=(data.draw(filters),) if data.draw(st.booleans()) else None,
                completeness=(data.draw(filters),) if data.draw(st.integers(0, 3)) == 0 else None,
                mines=(data.draw(filters), data.draw(page_sizes() if d == 0 else st.integers(0, 3)))
                if d < 2 and data.draw(st.integers(0, 3)) == 0 else None,
            ))
        return Region(code, levels)
    if kind == "mines":
        reuse = (data.draw(st.integers(0, 99)), data.draw(filters)) if data.draw(st.integers(0, 3)) == 0 else None
        return Mines(data.draw(filters, label="filter"), data.draw(page_sizes(), label="first"),
                     data.draw(st.integers(0, 2), label="more pages"), data.draw(st.booleans()), reuse)
    if kind == "mine":
        ids = [m["id"] for m in s.world.visible_mines(who)]
        top = max(s.world.mine_by_id)
        options = [st.integers(1, top), st.integers(top + 1, top + 10**6), st.integers(-5, 0),
                   st.sampled_from(BOGUS_MINE_IDS)]
        if ids:
            options += [st.sampled_from(ids)] * 2
        value = data.draw(st.one_of(options), label="mine id")
        as_text = data.draw(st.booleans()) or not isinstance(value, int)
        return Mine(str(value) if as_text else value, data.draw(st.booleans()))
    if kind == "mineralTypes":
        parent = data.draw(st.none() | st.none() | st.sampled_from(sorted(s.world.minerals))
                           | st.sampled_from(BOGUS_MINERALS), label="parentCode")
        depth = data.draw(st.integers(0, 2))
        levels = [(data.draw(st.none() | region_code_values(s, username)), data.draw(filters))
                  if data.draw(st.booleans()) else None for _ in range(depth + 1)]
        return MineralTypes(parent, levels)
    if kind == "minesNear":
        place = data.draw(st.integers(0, 9))
        if place == 0:
            lat, lng = data.draw(st.sampled_from([(48.85, 2.35), (-33.87, 151.21), (0.0, 0.0), (40.7, -74.0)]))
        else:
            mine = data.draw(st.sampled_from(s.located))
            lat, lng = mine["lat"], mine["lng"]
        datum = data.draw(st.sampled_from(["WGS84", "GCJ02"]))
        if datum == "GCJ02" and place:
            gcj = prcoords.wgs_gcj(prcoords.Coords(lat, lng))
            lat, lng = gcj.lat, gcj.lon
        radius = data.draw(st.one_of(st.sampled_from([0.5, 5.0, 50.0, 300.0]), st.floats(0.001, 300.0),
                                     st.sampled_from([0.0, -1.0, 300.5, 5000.0])), label="radiusKm")
        first = data.draw(st.one_of(st.integers(0, NEAR_RESULTS), st.sampled_from([-1, 101])), label="first")
        return MinesNear(lat, lng, datum, radius, first)
    if kind == "me":
        return Me()
    return Suggestions(data.draw(st.sampled_from(GUARANTOR_LEVELS)))


@PROPERTY
@given(data=st.data())
async def test_every_answer_equals_the_reference(setup, data):
    s, env = setup, setup.env
    username, who, token = draw_caller(data, s)
    roots = [draw_root(data, s, username, who) for _ in range(data.draw(st.integers(1, 3), label="roots"))]
    doc = Doc(literals=data.draw(st.booleans(), label="literal arguments"))
    aliases = [f"r{i}" for i in range(len(roots))]
    query = doc.text([root.render(doc, alias) for root, alias in zip(roots, aliases)])
    note(f"caller {username} ({who.tier} {who.region_code} mine {who.mine_id})\n{query}\n"
         f"variables {json.dumps(doc.variables, ensure_ascii=False)}")
    started = time.monotonic()
    result = await send(env.gql, query, doc.variables, token, username)
    FIGURES["server seconds"] += time.monotonic() - started
    FIGURES["requests"] += 1
    FIGURES["cases"] += 1
    FIGURES[f"tier {who.tier}"] += 1
    case = Case(s, who, env.gql, token)
    expected = {alias: root.problems(case) for root, alias in zip(roots, aliases)}
    _check_answer(case, roots, aliases, expected, result)
    if not case.problems and result.data is not None:
        for root, alias in zip(roots, aliases):
            FIGURES[f"path {type(root).__name__}"] += 1
            if not expected[alias]:
                await root.check(case, result.data[alias], alias)
    FIGURES["server+check seconds"] += time.monotonic() - started
    FIGURES[f"seconds {type(roots[0]).__name__}"] += time.monotonic() - started
    if case.problems:
        record_failure(case, query, doc.variables, result.status, result.errors)
    assert not case.problems, "\n".join(f"{kind}: {message}" for kind, message in case.problems[:15])


def _check_answer(case: Case, roots: list[Root], aliases: list[str], expected: dict, result) -> None:
    """Status, error codes, and which roots are null, against the expected refusals."""
    if result.status >= 500:
        case.fail("wrong", f"HTTP {result.status}")
        return
    errors = result.errors or []
    FIGURES["errors_checked"] += len(errors)
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        if code not in CONTRACT_CODES or code == "INTERNAL":
            case.fail("wrong", f"error code {code!r}: {error}")
    pathless = [e for e in errors if (e.get("path") or [None])[0] not in aliases]
    if pathless:
        union = set().union(*expected.values())
        if result.data is None and union and set(error_codes(pathless)) <= union:
            FIGURES["refusals_checked"] += 1  # refused as a whole, before execution, for a predicted reason
        else:
            case.fail("wrong", f"errors outside any root field: {pathless}")
        return
    by_alias: dict[str, list[dict]] = {}
    for error in errors:
        by_alias.setdefault(error["path"][0], []).append(error)
    whole_null = any(expected[a] and not r.nullable for r, a in zip(roots, aliases))
    if whole_null:
        if result.data is not None:
            case.fail("wrong", f"data should be null (a non-null root field was refused), got {result.data!r:.300}")
    elif result.data is None:
        case.fail("wrong", f"data is null; errors {errors}")
        return
    for root, alias in zip(roots, aliases):
        mine = by_alias.get(alias, [])
        if expected[alias]:
            FIGURES["refusals_checked"] += 1
            got = {(e.get("extensions") or {}).get("code") for e in mine}
            if not whole_null and not mine:
                case.fail("leak" if "NOT_FOUND" in expected[alias] else "wrong",
                          f"{alias} ({type(root).__name__}) answered instead of {sorted(expected[alias])}")
            elif not got <= expected[alias]:
                case.fail("wrong", f"{alias}: codes {sorted(got)}, expected {sorted(expected[alias])}: {mine}")
            if not whole_null and result.data is not None and result.data.get(alias) is not None:
                case.fail("leak" if "NOT_FOUND" in expected[alias] else "wrong", f"{alias} should be null")
            if mine:
                root.check_refusal(case, mine, alias)
        elif mine:
            case.fail("wrong", f"{alias} ({type(root).__name__}) refused unexpectedly: {mine}")


# --------------------------------------------------------------------------- what this property found, reduced to one request


async def test_a_refused_field_beside_a_shared_count_is_an_error_not_a_crash(setup):
    """Regression (found by test_every_answer_equals_the_reference, fixed in 1c9ff00): one field
    refused with BAD_USER_INPUT (here `first: -1`) while another root field awaits the same
    batched count. graphql-core cancelled the refused subtree's pending siblings, the cancelled
    DataLoader future was shared, and CancelledError escaped the executor: the request raised
    (a real server answered 500) instead of answering `region: null` with one BAD_USER_INPUT."""
    query = "query { dashboard { stats { total } } region { stats { total } mines(first: -1) { totalCount } } }"
    national = next(u for u in setup.pool if setup.world.accounts[u]["tier"] == "NATIONAL")
    result = await send(setup.env.gql, query, None, setup.tokens[national], national)
    assert result.status == 200
    assert [(e.get("extensions") or {}).get("code") for e in result.errors or []] == ["BAD_USER_INPUT"]
    assert result.data["region"] is None and result.data["dashboard"]["stats"]["total"] > 0



# --------------------------------------------------------------------------- the export (GET /export/mines.csv)


@settings(PROPERTY, max_examples=max(50, CASES // 10))
@given(data=st.data())
async def test_every_export_equals_the_reference(setup, data):
    """A random caller's mine export, with a random MineFilter as the `filter` parameter, holds
    exactly the reference's mines in the API's order, or is refused with the reference's code."""
    s, env = setup, setup.env
    username, who, token = draw_caller(data, s)
    spec = data.draw(mine_filters(s, username), label="filter")
    params = {} if spec is None else {"filter": json.dumps(spec, ensure_ascii=False)}
    response = await env.client.get("/export/mines.csv", params=params, headers={"Authorization": f"Bearer {token}"})
    FIGURES["path Export"] += 1
    expected = filter_problems(spec, s.world, who)
    if expected:
        code = response.json()["errors"][0]["extensions"]["code"]
        assert code in expected and response.status_code == {"NOT_FOUND": 404}.get(code, 400), response.text
        return
    assert response.status_code == 200, response.text
    codes = [row[0] for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline=""))][1:]
    listed = sorted((m for m in s.world.visible_mines(who) if matches_all(m, spec, s.world)),
                    key=lambda m: (m["county_code"], m["code"]))
    assert codes == [m["code"] for m in listed]
