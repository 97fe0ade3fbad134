"""Bad input to the reads: every filter and paging argument, fuzzed with hostile values.

Filters with wrong types, NaN and out-of-range numbers, wrong enums and unknown keys; forged,
altered and malformed cursors; out-of-range and swapped coordinates for minesNear. Every answer
is judged by fuzz_verdict (coded, never INTERNAL, refused where certainly invalid), and a read
must leave the data version as it was.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.fuzz_requests import count, graphql_body, send
from support.fuzz_stage import FUZZ
from support.fuzz_state import data_version
from support.fuzz_values import (coordinates, hostile_cursor, hostile_enum, hostile_filter, hostile_float, hostile_int,
                         hostile_text)
from support.fuzz_verdict import Verdict

pytestmark = pytest.mark.property


READ_SHAPES = {
    "mines": ("query Q($f: MineFilter, $n: Int, $a: String) { mines(filter: $f, first: $n, after: $a) "
              "{ totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"),
    "region": ("query Q($c: String, $f: MineFilter, $n: Int, $a: String) { region(code: $c) { code "
               "stats(filter: $f) { total } completeness(filter: $f) { total } "
               "mines(filter: $f, first: $n, after: $a) { totalCount } } }"),
    "minerals": ("query Q($p: String, $c: String, $f: MineFilter) { mineralTypes(parentCode: $p) "
                 "{ code stats(regionCode: $c, filter: $f) { total } } }"),
    "near": ("query Q($lat: Float!, $lng: Float!, $d: Datum!, $r: Float!, $n: Int!) "
             "{ minesNear(lat: $lat, lng: $lng, datum: $d, radiusKm: $r, first: $n) { distanceKm mine { id } } }"),
    "mine": "query Q($id: ID!, $n: Int) { mine(id: $id) { id history(first: $n) { field } } }",
}


@FUZZ
@given(data=st.data())
async def test_every_filter_and_paging_argument_answers_a_clear_error(stage, data):
    shape = data.draw(st.sampled_from(sorted(READ_SHAPES)), label="shape")
    variables, invalid = {}, False
    if shape in ("mines", "region"):
        (variables["f"], bad_f), (variables["n"], bad_n), (variables["a"], bad_a) = (
            data.draw(hostile_filter()), data.draw(hostile_int()), data.draw(hostile_cursor(stage.cursor)))
        invalid = bad_f or bad_n or bad_a
        if isinstance(variables["n"], int) and not bad_n and not 0 <= variables["n"] <= 100:
            invalid = True  # first from 0 to 100
        if shape == "region":
            variables["c"] = data.draw(st.one_of(st.none(), hostile_text(max_size=8), st.sampled_from(["530000"])))
    elif shape == "minerals":
        (variables["f"], invalid) = data.draw(hostile_filter())
        variables["p"] = data.draw(st.one_of(st.none(), hostile_text(max_size=8), st.sampled_from(["10", "1001"])))
        variables["c"] = data.draw(st.one_of(st.none(), hostile_text(max_size=8), st.sampled_from(["530000"])))
    elif shape == "near":
        (variables["lat"], bad_lat), (variables["lng"], bad_lng) = data.draw(coordinates())
        variables["d"], bad_d = data.draw(hostile_enum(["WGS84", "GCJ02"]))
        variables["r"], bad_r = data.draw(hostile_float())
        variables["n"], bad_n = data.draw(hostile_int())
        invalid = bad_lat or bad_lng or bad_d or bad_r or bad_n
    else:
        variables["id"] = data.draw(st.one_of(hostile_text(max_size=30), st.integers().map(str),
                                              st.sampled_from([str(stage.mine_id), 2**80, -1, 1.5, None, []])))
        variables["n"], invalid = data.draw(hostile_int())
        invalid = invalid or variables["id"] is None or isinstance(variables["id"], list | float)
    caller = data.draw(st.sampled_from([stage.national, stage.clerk, stage.owner]), label="caller")
    body = graphql_body(READ_SHAPES[shape], variables)
    count(f"read {shape}")
    before = data_version(stage.env.db)
    answer = await send(stage.client, body, token=caller.token)
    verdict = Verdict(f"read {shape} as {caller.username}", answer, body)
    verdict.clear(must_refuse=invalid)
    verdict.unchanged("data version", before, data_version(stage.env.db))
    verdict.done()
