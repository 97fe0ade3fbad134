"""The GraphQL-over-HTTP envelope fuzzed: arbitrary JSON for `query`, `operationName`, `variables`
and `extensions` (each absent, valid or anything), arbitrary top-level JSON, by POST and by GET, under
several Accept headers. Every answer is below 500, JSON in a UTF-8 media type the client accepts,
with a contract code on every error (never INTERNAL). A non-string operationName was a 500.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.fuzz_requests import FIGURES, Answer, count
from support.fuzz_stage import CASES, FUZZ
from support.fuzz_verdict import Verdict
from execution.documents import registry

pytestmark = pytest.mark.property

GQL = "application/graphql-response+json"
ABSENT = object()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
# Reads only: a fuzzed operationName may pick any operation of these documents.
QUERIES = ["{ __typename }", "query Me { me { username } }", "query A { me { username } } query B { options { scales { value } } }",
           "{ nope }", "{", "", "subscription S { me { username } }", "query V($n: Int!) { mines(first: $n) { totalCount } }"]
HOME = next(op for op in registry().values() if op.name == "Home").sha256
VALID = {
    "query": st.sampled_from(QUERIES),
    "operationName": st.sampled_from(["Me", "A", "B", "V", "X"]),
    "variables": st.sampled_from([{}, {"n": 1}, {"n": "x"}, {"n": None}]),
    "extensions": st.sampled_from([{}, {"persistedQuery": {"version": 1, "sha256Hash": HOME}}, {"persistedQuery": 5},
                                   {"persistedQuery": {"sha256Hash": 7}}]),
}
ACCEPTS = [None, "application/json", GQL, f"{GQL}, application/json", "*/*", "application/xml"]


def _envelope(key: str):
    return st.one_of(st.just(ABSENT), st.none(), VALID[key], JSON_VALUES)


@st.composite
def requests(draw):
    members = {key: draw(_envelope(key), label=key) for key in VALID}
    envelope = {key: value for key, value in members.items() if value is not ABSENT}
    method = draw(st.sampled_from(["POST", "GET"]), label="method")
    if method == "POST" and draw(st.booleans(), label="top level arbitrary"):
        return method, draw(JSON_VALUES, label="body")
    return method, envelope


def _param(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@settings(FUZZ, max_examples=max(100, CASES))
@given(request=requests(), accept=st.sampled_from(ACCEPTS))
async def test_any_envelope_is_answered_below_500_with_codes(stage, request, accept):
    method, payload = request
    count(f"envelope {method}")
    headers = {"authorization": f"Bearer {stage.national.token}", **({"accept": accept} if accept else {})}
    if method == "POST":
        body = json.dumps(payload).encode()
        response = await stage.client.post("/graphql", content=body, headers={**headers, "content-type": "application/json"})
    else:
        params = {key: _param(value) for key, value in payload.items()}
        body = json.dumps(params).encode()
        response = await stage.client.get("/graphql", params=params, headers=headers)
    FIGURES["requests"] += 1
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    verdict = Verdict(f"envelope {method} (Accept {accept})", Answer(response.status_code, parsed, response.text[:2000]), body)
    verdict.clear(must_refuse=False)
    media = response.headers.get("content-type", "")
    if not media.endswith("; charset=utf-8") or media.split(";")[0] not in ("application/json", GQL):
        verdict.fail(f"content-type {media!r}")
    if accept == "application/xml" and response.status_code != 406:
        verdict.fail(f"Accept application/xml answered {response.status_code}, not 406")
    if accept in ("application/json", None) and media.startswith(GQL):
        verdict.fail("answered in graphql-response+json to a client that did not ask for it")
    verdict.done()
