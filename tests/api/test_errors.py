"""Every error carries extensions.code; nothing answers a bare 500."""

from __future__ import annotations

import logging

import auth.sessions
from cache.lookup import ResponseCache
from support.queries import DASHBOARD, MINE_DETAIL
from execution.errors import INTERNAL_MESSAGE


async def test_parse_and_validation_failures_are_coded(gql, callers):
    token = callers["NATIONAL"].token
    parse = await gql("query { dashboard { ", token=token)
    assert parse.codes == ["GRAPHQL_PARSE_FAILED"] and parse.status < 500
    invalid = await gql("query { dashboard { nope } }", token=token)
    assert invalid.codes == ["GRAPHQL_VALIDATION_FAILED"] and invalid.status < 500


async def test_wrong_variable_types_are_bad_user_input(gql, callers):
    result = await gql(
        "query($f: MineFilter) { mines(filter: $f) { totalCount } }",
        {"f": {"scales": ["HUGE"]}},
        callers["NATIONAL"].token,
    )
    assert result.codes == ["BAD_USER_INPUT"] and result.status < 500


async def test_malformed_mine_ids_are_not_found(gql, callers):
    for raw in ["abc", "-1", "1.5", "²", "9" * 40]:
        result = await gql(MINE_DETAIL, {"id": raw}, callers["NATIONAL"].token)
        assert result.codes == ["NOT_FOUND"], raw


async def test_unexpected_errors_are_masked_and_logged_with_request_id(app, client, callers, caplog, monkeypatch):
    import resolvers.regions

    async def broken(_ctx):
        raise RuntimeError("secret database detail")

    monkeypatch.setattr(resolvers.regions, "latest_update", broken)
    import schema.types.account

    monkeypatch.setattr(schema.types.account, "latest_update", broken)
    with caplog.at_level(logging.ERROR, logger="minegraph.errors"):
        response = await client.post(
            "/graphql",
            # A document of its own, so no cached answer stands in for the failure.
            json={"query": "query MaskingProbe { dashboard { updatedAt } }"},
            headers={"Authorization": f"Bearer {callers['NATIONAL'].token}", "X-Request-ID": "req-42"},
        )
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-42"}
    assert "secret" not in error["message"]
    assert response.headers["x-request-id"] == "req-42"
    assert "req-42" in caplog.text and "secret database detail" in caplog.text


async def test_errors_name_a_huge_input_without_echoing_it(gql, callers):
    """An error says which value was wrong; it does not send 30 kB of it back."""
    token = callers["NATIONAL"].token
    huge = "9" * 30_000
    stats = "query($f: MineFilter) { mines(filter: $f, first: 1) { totalCount } }"
    for query, variables in [
        (stats, {"f": {"regionCode": huge}}),
        (stats, {"f": {"mineralCodes": [huge, "x" + huge]}}),
        ("query($id: ID!) { mine(id: $id) { id } }", {"id": huge}),
        ("query($c: String) { region(code: $c) { code } }", {"c": huge}),
    ]:
        result = await gql(query, variables, token)
        assert result.codes in (["NOT_FOUND"], ["BAD_USER_INPUT"]), result.errors
        assert "'99999" in result.message and "30,0" in result.message  # the value, and how long it was
        assert len(result.message) < 300, result.message[:300]


async def _broken(*_args, **_kwargs):
    _broken_now()


def _broken_now(*_args, **_kwargs):
    raise RuntimeError("secret database detail")


async def _answered_internally(client, token: str, caplog, request_id: str | None):
    headers = {"Authorization": f"Bearer {token}"} | ({"X-Request-ID": request_id} if request_id else {})
    with caplog.at_level(logging.ERROR, logger="minegraph"):
        response = await client.post("/graphql", json={"query": DASHBOARD}, headers=headers)
    assert response.headers["content-type"] == "application/json; charset=utf-8", response.text[:200]
    body = response.json()
    sent_id = response.headers["x-request-id"]
    # Nothing was executed: no `data` at all (GraphQL spec, "Response"; docs/api.md).
    assert body == {"errors": [
        {"message": INTERNAL_MESSAGE, "extensions": {"code": "INTERNAL", "requestId": sent_id}}]}
    logged = [r for r in caplog.records if sent_id in r.getMessage()]
    assert logged and logged[0].exc_info and "secret database detail" in caplog.text
    return response


async def test_a_bug_in_the_token_check_is_internal_with_the_request_id(client, callers, caplog, monkeypatch):
    """Before GraphQL runs (the authentication middleware): not Starlette's plain-text 500."""
    monkeypatch.setattr(auth.sessions, "user_for_token", _broken)
    token = callers["NATIONAL"].token
    given = await _answered_internally(client, token, caplog, "req-auth-bug-" + "x" * 80)
    assert given.status_code == 500 and given.headers["x-request-id"] == "req-auth-bug-" + "x" * 51  # cut to 64
    caplog.clear()
    fresh = await _answered_internally(client, token, caplog, None)  # none given: a new uuid4
    assert fresh.status_code == 500 and len(fresh.headers["x-request-id"]) == 32


async def test_a_bug_before_execution_is_internal_with_the_request_id(client, callers, caplog, monkeypatch):
    monkeypatch.setattr(ResponseCache, "answer", _broken)  # looked up before any execution
    response = await _answered_internally(client, callers["NATIONAL"].token, caplog, "req-view-bug")
    assert response.status_code == 500 and response.headers["x-request-id"] == "req-view-bug"


async def test_the_database_down_during_the_token_check_is_503_with_the_request_id(client, callers, monkeypatch):
    async def refused(*_args, **_kwargs):
        raise ConnectionRefusedError("connection refused")  # what a stopped server answers

    monkeypatch.setattr(auth.sessions, "user_for_token", refused)
    response = await client.post("/graphql", json={"query": DASHBOARD}, headers={
        "Authorization": f"Bearer {callers['NATIONAL'].token}", "X-Request-ID": "req-db-down"})
    assert response.status_code == 503 and response.headers["retry-after"] == "30"
    assert response.headers["x-request-id"] == "req-db-down"
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-db-down"}
    assert "database" in error["message"] and "refused" not in error["message"]


async def test_every_answer_carries_a_request_id(client):
    healthy = await client.get("/healthz")
    anonymous = await client.post("/graphql", json={"query": DASHBOARD}, headers={"X-Request-ID": "req-anon"})
    assert len(healthy.headers["x-request-id"]) == 32 and anonymous.headers["x-request-id"] == "req-anon"
    assert anonymous.headers.get_list("x-request-id") == ["req-anon"]  # once, not once per layer
