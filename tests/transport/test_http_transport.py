"""GraphQL over HTTP to the letter (docs/api.md, "HTTP transport"): the request envelope, choosing
the operation, media types and the status codes of each kind of failure."""

from __future__ import annotations

import json

import pytest

from support.environment import PASSWORD
from web.http_transport import MULTIPLE_OPERATIONS, UNKNOWN_OPERATION
from support.queries import LOGIN

GQL = "application/graphql-response+json"


async def _post(client, body, *, accept: str | None = None, token: str | None = None, **headers):
    headers = {"content-type": "application/json", **headers}
    if accept is not None:
        headers["accept"] = accept
    if token:
        headers["authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post("/graphql", content=content, headers=headers)


def _codes(response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


async def _fresh_token(client, username: str) -> str:
    """A session of its own (not the shared callers'), which a test may end."""
    response = await _post(client, {"query": LOGIN, "variables": {"u": username, "p": PASSWORD}})
    return response.json()["data"]["login"]["token"]


@pytest.mark.parametrize("value", [{}, [], 1, 1.5, True, {"a": [1]}])
async def test_an_operation_name_that_is_not_a_string_is_a_coded_400(client, value):
    """It was a 500 ({} and [] reached an lru_cache as a key)."""
    response = await _post(client, {"query": "query Q { __typename }", "operationName": value})
    assert response.status_code == 400 and _codes(response) == ["BAD_USER_INPUT"]
    assert "operationName" in response.json()["errors"][0]["message"] and "data" not in response.json()


@pytest.mark.parametrize(("key", "value"), [
    ("query", 5), ("query", ["{ __typename }"]), ("query", {"a": 1}), ("query", False),
    ("variables", "x"), ("variables", [1]), ("variables", 0), ("extensions", "x"), ("extensions", [1]),
    ("extensions", True),
])
async def test_envelope_members_of_the_wrong_type_are_coded_400s(client, key, value):
    body = {"query": "{ __typename }", key: value}
    for accept in (None, "application/json", GQL):
        response = await _post(client, body, accept=accept)
        assert response.status_code == 400 and _codes(response) == ["BAD_USER_INPUT"], (accept, response.text)
        assert key in response.json()["errors"][0]["message"] and "data" not in response.json()


@pytest.mark.parametrize("body", [b"[]", b'"query"', b"3", b"null", b"true", b"", b"{", b'{"notquery": "{ a }"}'])
async def test_bodies_that_are_not_a_request_object_are_coded_400s(client, body):
    response = await _post(client, body, accept=GQL)
    assert response.status_code == 400 and _codes(response) == ["BAD_USER_INPUT"], response.text
    assert response.headers["content-type"] == f"{GQL}; charset=utf-8"


async def test_several_operations_without_a_name_run_none_of_them(client):
    """It ran the first one: `mutation M { logout } query Q { me }` logged the caller out."""
    token = await _fresh_token(client, "000000-008")
    both = {"query": "mutation M { logout } query Q { me { username } }"}
    refused = await _post(client, both, accept=GQL, token=token)
    assert refused.status_code == 400 and refused.headers["content-type"] == f"{GQL}; charset=utf-8"
    assert refused.json() == {"errors": [{"message": MULTIPLE_OPERATIONS, "extensions": {"code": "BAD_USER_INPUT"}}]}
    assert MULTIPLE_OPERATIONS.endswith(" / Must provide operation name if query contains multiple operations.")
    plain = await _post(client, both, token=token)  # application/json: a well-formed request, 200
    assert plain.status_code == 200 and "data" not in plain.json() and _codes(plain) == ["BAD_USER_INPUT"]
    unknown = await _post(client, {**both, "operationName": "X"}, accept=GQL, token=token)
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["message"] == UNKNOWN_OPERATION.format(name="X")
    assert "data" not in unknown.json()
    me = await _post(client, {**both, "operationName": "Q"}, token=token)  # the session still works
    assert me.status_code == 200 and me.json() == {"data": {"me": {"username": "000000-008"}}}


@pytest.mark.parametrize(("accept", "media"), [
    (None, "application/json"), ("", "application/json"), ("*/*", "application/json"),
    ("application/*", "application/json"), ("application/json", "application/json"), (GQL, GQL),
    (f"application/json, {GQL}", GQL), (f"{GQL};q=0.5, application/json", "application/json"),
    ("text/html, application/json;q=0.9", "application/json"), ("application/json; charset=utf-8", "application/json"),
])
async def test_the_answer_is_in_the_media_type_the_client_accepts(client, accept, media):
    response = await _post(client, {"query": "{ __typename }"}, accept=accept)
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}
    assert response.headers["content-type"] == f"{media}; charset=utf-8"


@pytest.mark.parametrize("accept", ["application/xml", "text/html", f"{GQL};q=0, application/json;q=0", "image/*"])
async def test_an_accept_the_server_cannot_satisfy_is_406(client, accept):
    response = await _post(client, {"query": "{ __typename }"}, accept=accept)
    assert response.status_code == 406 and _codes(response) == ["BAD_USER_INPUT"]
    assert response.headers["content-type"] == "application/json; charset=utf-8"


PRE_EXECUTION = [
    ({"query": "{ dashboard { "}, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{}"}, "GRAPHQL_PARSE_FAILED"),  # graphql-core parses it; the depth limiter then raised (INTERNAL)
    ({"query": "query Q { me { } }"}, "GRAPHQL_PARSE_FAILED"),
    ({"query": "{ dashboard { nope } }"}, "GRAPHQL_VALIDATION_FAILED"),
    ({"query": "query($id: ID!) { mine(id: $id) { id } }", "variables": {"id": None}}, "BAD_USER_INPUT"),
    ({"query": "query($id: ID!) { mine(id: $id) { id } }", "variables": {"id": [1, 2]}}, "BAD_USER_INPUT"),
]


@pytest.mark.parametrize(("body", "code"), PRE_EXECUTION)
async def test_errors_before_execution_have_no_data_and_are_400_for_graphql_response_json(client, callers, body, code):
    token = callers["NATIONAL"].token
    strict = await _post(client, body, accept=GQL, token=token)
    assert strict.status_code == 400 and _codes(strict) == [code] and "data" not in strict.json(), strict.text
    assert strict.headers["content-type"] == f"{GQL}; charset=utf-8"
    plain = await _post(client, body, accept="application/json", token=token)
    assert plain.status_code == 200 and _codes(plain) == [code] and "data" not in plain.json(), plain.text


async def test_data_null_stays_once_execution_started(client):
    """An anonymous caller's non-null root field fails during execution: `data: null`, 200 in both."""
    for accept in (GQL, "application/json"):
        response = await _post(client, {"query": "{ dashboard { updatedAt } }"}, accept=accept)
        assert response.status_code == 200 and response.json()["data"] is None, response.text
        assert _codes(response) == ["UNAUTHENTICATED"]


async def test_mutations_over_get_are_405_and_queries_over_get_are_served(client, callers):
    token = callers["NATIONAL"].token
    for accept in (GQL, "application/json"):
        refused = await client.get("/graphql", params={"query": "mutation { logout }"},
                                   headers={"accept": accept, "authorization": f"Bearer {token}"})
        assert refused.status_code == 405 and refused.headers["allow"] == "POST" and _codes(refused) == ["BAD_USER_INPUT"]
    me = await client.get("/graphql", params={"query": "query Me { me { username } }"},
                          headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json() == {"data": {"me": {"username": "000000-001"}}}


@pytest.mark.parametrize(("params", "status"), [
    ({"variables": "[1]"}, 400), ({"variables": '"x"'}, 400), ({"variables": "{nope"}, 400), ({"extensions": "1"}, 400),
    ({"variables": '{"name": "Query"}'}, 200), ({"variables": ""}, 200), ({"variables": "null"}, 200),
])
async def test_get_variables_and_extensions_must_be_json_objects(client, params, status):
    query = "query T($name: String = \"Query\") { __type(name: $name) { name } }"
    response = await client.get("/graphql", params={"query": query, **params})
    assert response.status_code == status, response.text
    if status == 400:
        assert _codes(response) == ["BAD_USER_INPUT"] and "data" not in response.json()


async def test_other_methods_and_content_types_are_coded(client):
    put = await client.put("/graphql", content=b'{"query": "{ __typename }"}', headers={"content-type": "application/json"})
    assert put.status_code == 405 and put.headers["allow"] == "GET, POST" and _codes(put) == ["BAD_USER_INPUT"]
    text = await _post(client, {"query": "{ __typename }"}, **{"content-type": "text/plain"})
    assert text.status_code == 415 and _codes(text) == ["BAD_USER_INPUT"]


async def test_a_body_too_large_is_413_without_data_in_the_accepted_media_type(client, settings):
    huge = json.dumps({"query": "{ __typename }", "variables": {"x": "y" * settings.max_body_bytes}}).encode()
    for accept, media in ((GQL, GQL), (None, "application/json")):
        response = await _post(client, huge, accept=accept)
        assert response.status_code == 413 and _codes(response) == ["BAD_USER_INPUT"]
        assert "data" not in response.json() and response.headers["content-type"] == f"{media}; charset=utf-8"


async def test_the_root_address_redirects_to_graphql(client):
    response = await client.get("/")
    assert response.status_code in (307, 308) and response.headers["location"] == "/graphql"
    kept = await client.get("/?query=%7B__typename%7D")
    assert kept.headers["location"] == "/graphql?query=%7B__typename%7D"
