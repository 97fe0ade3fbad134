"""Every error a person can be shown reads Chinese first, then " / ", then English.

The mutation matrix and the fuzz verdicts check every error they meet with the same function
(error_language.language_problem); this module adds the read side written out: each root field
with bad arguments (unknown codes, bad cursors, out-of-range `first`, radius and coordinates,
filters), the request-level refusals (variables, operation name, persisted operations, cost),
and refused writes that leave the shared database as it was.
"""

from __future__ import annotations

import pytest

from support.environment import post_graphql
from support.error_language import assert_bilingual, language_problem

MINES = "query Q($f: MineFilter, $n: Int, $a: String) { mines(filter: $f, first: $n, after: $a) { totalCount } }"
NEAR = ("query Q($lat: Float!, $lng: Float!, $d: Datum!, $r: Float!, $n: Int!) "
        "{ minesNear(lat: $lat, lng: $lng, datum: $d, radiusKm: $r, first: $n) { distanceKm } }")
KUNMING = {"lat": 25.04, "lng": 102.71, "d": "WGS84", "r": 10, "n": 20}
LOCATE = "mutation L($id: ID!, $lat: Float!, $lng: Float!, $v: Int) { updateMineLocation(mineId: $id, " \
         "lat: $lat, lng: $lng, datum: WGS84, expectedVersion: $v) { version } }"
GUARANTOR = "mutation G($id: ID!, $p: String!) { setGuarantor(mineId: $id, level: ENTERPRISE, " \
            "input: { name: \"王五\", position: \"矿长\", phone: $p }) { version } }"
HUGE = "{ region { children { children { children { mines(first: 100) { edges { node { id } } } } } } } }"
MINE = "$MINE"  # replaced by the enterprise caller's mine id

# (label, caller tier or None for no token, document, variables, the code it answers)
CASES = [
    ("anonymous me", None, "{ me { username } }", {}, "UNAUTHENTICATED"),
    ("anonymous dashboard", None, "{ dashboard { stats { total } } }", {}, "UNAUTHENTICATED"),
    ("anonymous options", None, "{ options { scales { value } } }", {}, "UNAUTHENTICATED"),
    ("region unknown", "NATIONAL", '{ region(code: "999999") { name } }', {}, "NOT_FOUND"),
    ("region outside scope", "COUNTY", '{ region(code: "110000") { name } }', {}, "NOT_FOUND"),
    ("mine malformed id", "NATIONAL", '{ mine(id: "abc") { name } }', {}, "NOT_FOUND"),
    ("mine history first 101", "NATIONAL", "query Q($id: ID!) { mine(id: $id) { history(first: 101) { field } } }",
     {"id": MINE}, "BAD_USER_INPUT"),
    ("mines first 101", "NATIONAL", MINES, {"n": 101}, "BAD_USER_INPUT"),
    ("mines first -1", "NATIONAL", MINES, {"n": -1}, "BAD_USER_INPUT"),
    ("mines first 2^31-1", "NATIONAL", MINES, {"n": 2**31 - 1}, "BAD_USER_INPUT"),
    ("mines first 2^31 (variable)", "NATIONAL", MINES, {"n": 2**31}, "BAD_USER_INPUT"),
    ("mines first 'ten'", "NATIONAL", MINES, {"n": "ten"}, "BAD_USER_INPUT"),
    ("mines cursor garbage", "NATIONAL", MINES, {"a": "not-a-cursor"}, "BAD_USER_INPUT"),
    ("mines cursor forged", "NATIONAL", MINES, {"a": "NTMwMTAyH0M1MzAxMDIwMDAxAAAAAAAAAAAAAAAA"},
     "BAD_USER_INPUT"),
    ("mines cursor empty", "NATIONAL", MINES, {"a": ""}, "BAD_USER_INPUT"),
    ("filter unknown region", "NATIONAL", MINES, {"f": {"regionCode": "999999"}}, "NOT_FOUND"),
    ("filter region outside scope", "COUNTY", MINES, {"f": {"regionCode": "110000"}}, "NOT_FOUND"),
    ("filter unknown mineral", "NATIONAL", MINES, {"f": {"mineralCodes": ["999999", "x"]}}, "BAD_USER_INPUT"),
    ("filter long name", "NATIONAL", MINES, {"f": {"nameContains": "矿" * 101}}, "BAD_USER_INPUT"),
    ("filter control character", "NATIONAL", MINES, {"f": {"nameContains": "金\x01矿"}}, "BAD_USER_INPUT"),
    ("filter min above max", "NATIONAL", MINES, {"f": {"depthMin": 900, "depthMax": 100}}, "BAD_USER_INPUT"),
    ("filter workers min above max", "NATIONAL", MINES, {"f": {"workersPerShiftMin": 9, "workersPerShiftMax": 1}},
     "BAD_USER_INPUT"),
    ("filter unknown scale", "NATIONAL", MINES, {"f": {"scales": ["HUGE"]}}, "BAD_USER_INPUT"),
    ("filter unknown field", "NATIONAL", MINES, {"f": {"colour": "red"}}, "BAD_USER_INPUT"),
    ("filter wrong type", "NATIONAL", MINES, {"f": {"depthMin": "deep"}}, "BAD_USER_INPUT"),
    ("stats filter unknown region", "PROVINCE", "query Q($f: MineFilter) { region { stats(filter: $f) { total } } }",
     {"f": {"regionCode": "999999"}}, "NOT_FOUND"),
    ("mineralTypes unknown parent", "NATIONAL", '{ mineralTypes(parentCode: "99") { code } }', {}, "NOT_FOUND"),
    ("mineral stats unknown region", "NATIONAL", '{ mineralTypes { stats(regionCode: "999999") { total } } }', {},
     "NOT_FOUND"),
    ("mineral completeness outside scope", "CITY",
     '{ mineralTypes { completeness(regionCode: "110000") { total } } }', {}, "NOT_FOUND"),
    ("minesNear radius 0", "NATIONAL", NEAR, {**KUNMING, "r": 0}, "BAD_USER_INPUT"),
    ("minesNear radius 1000", "NATIONAL", NEAR, {**KUNMING, "r": 1000}, "BAD_USER_INPUT"),
    ("minesNear first 101", "NATIONAL", NEAR, {**KUNMING, "n": 101}, "BAD_USER_INPUT"),
    ("minesNear latitude 95", "NATIONAL", NEAR, {**KUNMING, "lat": 95}, "BAD_USER_INPUT"),
    ("minesNear swapped", "NATIONAL", NEAR, {**KUNMING, "lat": 102.71, "lng": 25.04}, "BAD_USER_INPUT"),
    ("minesNear outside China", "NATIONAL", NEAR, {**KUNMING, "lat": 48.85, "lng": 2.35}, "BAD_USER_INPUT"),
    ("minesNear unknown datum", "NATIONAL", NEAR, {**KUNMING, "d": "BD09"}, "BAD_USER_INPUT"),
    ("minesNear missing variable", "NATIONAL", NEAR, {"lat": 25.04, "lng": 102.71, "d": "WGS84", "r": 10},
     "BAD_USER_INPUT"),
    ("minesNear null variable", "NATIONAL", NEAR, {**KUNMING, "r": None}, "BAD_USER_INPUT"),
    ("guarantorSuggestions of another level", "NATIONAL", "{ guarantorSuggestions(level: COUNTY) { name } }", {},
     "FORBIDDEN"),
    ("query too costly", "NATIONAL", HUGE, {}, "BAD_USER_INPUT"),
    ("location outside China", "ENTERPRISE", LOCATE, {"id": MINE, "lat": 48.85, "lng": 2.35}, "BAD_USER_INPUT"),
    ("location expectedVersion 0", "ENTERPRISE", LOCATE, {"id": MINE, "lat": 25.04, "lng": 102.71, "v": 0},
     "BAD_USER_INPUT"),
    ("location stale version", "ENTERPRISE", LOCATE, {"id": MINE, "lat": 25.04, "lng": 102.71, "v": 10**6},
     "CONFLICT"),
    ("location by a county account", "COUNTY", LOCATE, {"id": MINE, "lat": 25.04, "lng": 102.71}, "FORBIDDEN"),
    ("guarantor bad phone", "ENTERPRISE", GUARANTOR, {"id": MINE, "p": "12345"}, "BAD_USER_INPUT"),
    ("login wrong password", None, 'mutation { login(username: "nobody-000", password: "x") { token } }', {},
     "UNAUTHENTICATED"),
    ("wechatLogin empty code", None, 'mutation { wechatLogin(code: "") { token } }', {}, "BAD_USER_INPUT"),
    ("changePassword confirmation differs", "PROVINCE",
     'mutation { changePassword(oldPassword: "x", newPassword: "Abcdefgh-123", confirmPassword: "Abcdefgh-124") }',
     {}, "BAD_USER_INPUT"),
    ("updateProfile empty name", "PROVINCE", 'mutation { updateProfile(input: { name: " " }) { name } }', {},
     "BAD_USER_INPUT"),
]
# Developer errors: documents the service cannot parse or validate may stay English only.
DEVELOPER_CASES = [
    ("mines first 2^31 (literal)", "{ mines(first: 2147483648) { totalCount } }", "GRAPHQL_VALIDATION_FAILED"),
    ("unknown argument", "{ mines(last: 5) { totalCount } }", "GRAPHQL_VALIDATION_FAILED"),
    ("broken document", "{ mines(", "GRAPHQL_PARSE_FAILED"),
]


@pytest.fixture(scope="module")
def mine_id(callers) -> str:
    return str(callers["ENTERPRISE"].mine_id)


def _resolved(variables: dict, mine_id: str) -> dict:
    return {k: mine_id if v == MINE else v for k, v in variables.items()}


@pytest.mark.parametrize(("label", "tier", "document", "variables", "code"), CASES, ids=[c[0] for c in CASES])
async def test_every_refusal_reads_chinese_first(env, callers, mine_id, label, tier, document, variables, code):
    token = callers[tier].token if tier else None
    result = await post_graphql(env.client, document, _resolved(variables, mine_id), token=token)
    assert result.codes == [code], result.errors
    assert_bilingual(result.errors)


async def test_unknown_mine_id(env, callers):
    # The largest id plus one: an id no mine has, whatever the seed.
    top = env.db.execute("SELECT max(id) FROM mine").fetchone()[0]
    result = await post_graphql(env.client, "query Q($id: ID!) { mine(id: $id) { name } }", {"id": str(top + 1)},
                                token=callers["NATIONAL"].token)
    assert result.codes == ["NOT_FOUND"]
    assert result.message == f"未找到矿山 '{top + 1}' / mine '{top + 1}' not found"


@pytest.mark.parametrize("body", [
    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},
    {"query": "{ me { username } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": 5}}},
    {"query": "{ options { scales { value } } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash":
     "c0ffee" * 10 + "c0ff"}}},
], ids=["unknown persisted hash", "hash not a string", "query text does not match"])
async def test_request_refusals_read_chinese_first(env, callers, body):
    response = await env.client.post("/graphql", json=body,
                                     headers={"Authorization": f"Bearer {callers['NATIONAL'].token}"})
    errors = response.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], errors
    assert_bilingual(errors)


@pytest.mark.parametrize(("content", "content_type", "status"), [
    (b'{"query": "{ me { username } }", "operationName": "Nope"}', "application/json", 200),
    (b'{"query": "query A { me { username } } query B { me { username } }"}', "application/json", 200),
    (b"{", "application/json", 400),
    (b'{"variables": {}}', "application/json", 400),
    (b'{"query": 5}', "application/json", 400),
    (b"null", "application/json", 400),
    (b'{"query": "{ me { username } }"}', "text/plain", 415),
], ids=["unknown operation name", "several operations, no name", "not JSON", "no query", "query not text",
        "not an object", "content type"])
async def test_transport_refusals_read_chinese_first(env, callers, content, content_type, status):
    """Refusals of the HTTP layer (web/graphql_view.py, web/http_transport.py), before any GraphQL runs."""
    response = await env.client.post("/graphql", content=content, headers={
        "Authorization": f"Bearer {callers['NATIONAL'].token}", "Content-Type": content_type})
    assert response.status_code == status
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert_bilingual([error])


def test_strawberry_refusals_have_a_chinese_half():
    """What Strawberry itself may still refuse (its HTTPException reasons) is answered through
    execution.errors.bilingual_http_reason, which knows each of them."""
    from execution.errors import bilingual_http_reason

    for english in ["Unable to parse request body as JSON", "No GraphQL query found in the request", "Not Found",
                    'Unknown operation named "X".', "Unsupported content type"]:
        assert_bilingual([{"message": bilingual_http_reason(english), "extensions": {"code": "BAD_USER_INPUT"}}])
        assert not bilingual_http_reason(english).startswith("请求无效 /"), english


@pytest.mark.parametrize(("label", "document", "code"), DEVELOPER_CASES, ids=[c[0] for c in DEVELOPER_CASES])
async def test_developer_errors_keep_their_code(env, callers, label, document, code):
    result = await post_graphql(env.client, document, token=callers["NATIONAL"].token)
    assert result.codes == [code], result.errors


def test_the_check_itself():
    """What the shared check accepts and refuses (it guards the matrix and the fuzz too)."""
    def ok(message: str, code: str = "NOT_FOUND") -> bool:
        return language_problem({"message": message, "extensions": {"code": code}}) is None

    assert ok("未找到矿山 '210' / mine '210' not found")
    assert ok("mine '210' not found", "GRAPHQL_VALIDATION_FAILED")
    assert not ok("mine '210' not found")
    assert not ok("mine '210' / 未找到矿山")  # English first
    assert not ok("未找到矿山 '210'")  # Chinese only
    assert not ok("未找到矿山 / 未找到")  # no English after " / "
    assert not ok("Unable to parse request body as JSON", "BAD_USER_INPUT")  # Strawberry's, untranslated
