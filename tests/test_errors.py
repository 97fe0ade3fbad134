"""Every error carries extensions.code; nothing answers 500."""

from __future__ import annotations

import logging

from queries import MINE_DETAIL


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
