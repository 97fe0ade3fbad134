"""Bad requests as a whole: malformed bodies, and documents generated from the schema.

Bodies that are not JSON, not an object, nested past the parser's limits, with wrong member
types or duplicate keys, under any Content-Type; documents from hypothesis-graphql (valid ones
with arbitrary values, and ones with one schema violation, which must be refused before
anything runs). Every answer is coded JSON below 500, and nothing is written by a refusal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.fuzz_requests import count, graphql_body, send
from support.fuzz_stage import CASES, FUZZ
from support.fuzz_state import data_version, mine_state
from support.fuzz_verdict import Verdict

pytestmark = pytest.mark.property

SCHEMA_SDL = (Path(__file__).resolve().parents[2] / "schema.graphql").read_text(encoding="utf-8")


BROKEN_BODIES = [
    b"", b"{", b"}", b"null", b"[]", b"[{}]", b'"query"', b"0", b"NaN", b"\xff\xfe\x00", b"{\"query\": \"{ me { username }",
    b'{"query": null}', b'{"query": 5}', b'{"query": ["{ me { username } }"]}', b'{"query": {"a": 1}}',
    b'{"query": "{ me { username } }", "variables": "x"}', b'{"query": "{ me { username } }", "variables": [1]}',
    b'{"query": "{ me { username } }", "variables": NaN}', b'{"query": "{ me { username } }", "operationName": 7}',
    b'{"query": "{ me { username } }", "operationName": "Nope"}', b'{"query": "{ me { username } }", "extensions": 5}',
    b'{"query": "{ me { username } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": 5}}}',
    b'{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "' + b"0" * 64 + b'"}}}',
    b'{"query": "{ me { username } }", "query": "{ options { scales { value } } }"}',  # (not logout: its token is shared)
    b'{"query": "\\ud800"}', b'{"query": "{ me { username \\u0000 } }"}', b'{"query": "' + b"{" * 5000 + b'"}',
    b'{"query": "' + b"{ me " * 3000 + b'"}', b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    b'{"query": "{ me { username } }"}' + b" " * 200_000,
    b'{"query": "query($n: Int) { mines(first: $n) { totalCount } }", "variables": {"n": 1' + b"0" * 5000 + b"}}",
    b'{"query": "query($n: Int) { mines(first: $n) { totalCount } }", "variables": {"n": 18446744073709551616}}',
    b'{"query": "query($a: String) { mines(after: $a) { totalCount } }", "variables": {"a": "\\ud800"}}',
    b'{"query": "{ __schema { types { name } } }"}', b'{"query": "subscription { me { username } }"}',
    b'{"query": "{ me { username } } { me { username } }"}',
]


@settings(FUZZ, max_examples=max(len(BROKEN_BODIES) * 3, CASES // 3))
@given(data=st.data())
async def test_malformed_bodies_answer_coded_json(stage, data):
    body = data.draw(st.one_of(st.sampled_from(BROKEN_BODIES), st.binary(max_size=300),
                               st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))), label="body")
    content_type = data.draw(st.sampled_from(["application/json", "application/json", "text/plain",
                                              "application/x-www-form-urlencoded", "multipart/form-data",
                                              "application/graphql-response+json", ""]), label="Content-Type")
    count("body")
    before = data_version(stage.env.db)
    answer = await send(stage.client, body, token=stage.national.token, content_type=content_type)
    verdict = Verdict(f"body ({content_type})", answer, body)
    verdict.clear(must_refuse=False)
    verdict.unchanged("data version", before, data_version(stage.env.db))
    verdict.done()


_GENERATED: dict = {}


def _generated(mode_name: str):
    import hypothesis_graphql

    if mode_name not in _GENERATED:
        _GENERATED[mode_name] = _build_generated(hypothesis_graphql, getattr(hypothesis_graphql.Mode, mode_name))
    return _GENERATED[mode_name]


def _build_generated(hypothesis_graphql, mode):
    return hypothesis_graphql.from_schema(SCHEMA_SDL, mode=mode, fields=[
        "me", "dashboard", "region", "mine", "mines", "mineralTypes", "options", "minesNear", "guarantorSuggestions",
        "updateProfile", "updateMineLocation", "setGuarantor",
    ])


@settings(FUZZ, max_examples=max(50, CASES // 3))
@given(data=st.data())
async def test_generated_documents_answer_coded_errors(stage, data):
    """hypothesis-graphql: valid operations with arbitrary values, and operations with one schema
    violation (which must be refused before anything runs)."""
    negative = data.draw(st.booleans(), label="negative")
    query = data.draw(_generated("NEGATIVE" if negative else "POSITIVE"), label="document")
    caller = data.draw(st.sampled_from([stage.owner, stage.clerk]), label="caller")
    body = graphql_body(query)
    count("generated negative" if negative else "generated")
    before = mine_state(stage.env.db, stage.mine_id)
    answer = await send(stage.client, body, token=caller.token)
    verdict = Verdict(f"generated ({'invalid' if negative else 'valid'}) as {caller.username}", answer, body)
    refused = verdict.clear(must_refuse=negative,
                            allowed={"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT"}
                            if negative else None)
    if negative and refused:
        verdict.unchanged(f"mine {stage.mine_id}", before, mine_state(stage.env.db, stage.mine_id))
    verdict.done()
