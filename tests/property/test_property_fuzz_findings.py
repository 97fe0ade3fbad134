"""What the fuzz found, each reduced to one request: integers past 64 bits and past 4,300
digits, NaN and the infinities, lone surrogates and NUL in variables, enums, passwords and
usernames, and bodies that are not a JSON object. Each must be a clear, coded refusal.
"""

from __future__ import annotations

import pytest

from support.environment import client_at
from support.fuzz_requests import Answer, encode, graphql_body, send
from support.fuzz_stage import Stage
from support.queries import LOGIN
from settings import Settings

pytestmark = pytest.mark.property


async def _read(stage: Stage, body: bytes) -> Answer:
    # A session of its own: a fuzz test on the same stage may legitimately end the national one.
    login = graphql_body("mutation L($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                         {"u": "000000-010", "p": Settings().demo_password})
    token = (await send(stage.client, login)).data["login"]["token"]
    return await send(stage.client, body, token=token)


async def test_an_integer_past_4300_digits_is_a_clear_error(stage):
    """Python's JSON parser refuses integers longer than 4,300 digits with ValueError, which
    escapes the app (a real server answers 500) instead of a 400 with BAD_USER_INPUT."""
    answer = await _read(stage, b'{"query": "query($n: Int) { mines(first: $n) { totalCount } }", '
                                b'"variables": {"n": 1' + b"0" * 5000 + b"}}")
    assert answer.status < 500, answer.text
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


async def test_an_int_variable_past_64_bits_is_bad_user_input(stage):
    """`first: 18446744073709551616` (2**64) is answered INTERNAL: the response cache serialises the
    raw variables with orjson (64-bit integers at most) before graphql-core has refused the value."""
    answer = await _read(stage, b'{"query": "query($n: Int) { mines(first: $n) { totalCount } }", '
                                b'"variables": {"n": 18446744073709551616}}')
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


async def test_a_lone_surrogate_in_a_variable_is_a_clear_error(stage):
    """A lone surrogate (\\ud800, valid JSON) in any variable is answered INTERNAL: orjson refuses to
    serialise it into the response-cache key."""
    answer = await _read(stage, b'{"query": "query($a: String) { mines(first: 1, after: $a) { totalCount } }", '
                                b'"variables": {"a": "\\ud800"}}')
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_nan_and_infinities_are_refused_even_after_null_was_cached(stage, token):
    """orjson writes NaN and ±Infinity as null, so in the response-cache key `depthMin: NaN` is
    `depthMin: null`: once the null query has been answered, NaN and the infinities are served
    its cached answer instead of BAD_USER_INPUT (contract: NaN or infinities are BAD_USER_INPUT)."""
    query = b'{"query": "query($f: MineFilter) { mines(filter: $f, first: 1) { totalCount } }", "variables": '
    first = await _read(stage, query + b'{"f": {"depthMin": null, "workersPerShiftMin": 7}}}')
    assert first.errors == [] and first.data["mines"]["totalCount"] > 0
    answer = await _read(stage, query + b'{"f": {"depthMin": ' + token.encode() + b', "workersPerShiftMin": 7}}}')
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


@pytest.mark.parametrize("value", [b"NaN", b"Infinity", b'"abc"', b"[1]"])
async def test_a_first_that_is_not_an_int_is_bad_user_input(stage, value):
    """Found by the fuzz: `first: NaN` (or Infinity, "abc", [1]) was answered INTERNAL: the cost
    estimate (execution/cost.py) called int() on the raw variable before graphql-core had refused it.
    (Passes once the estimate leaves values of the wrong type to graphql-core.)"""
    answer = await _read(stage, b'{"query": "query($n: Int) { mines(first: $n) { totalCount } }", '
                                b'"variables": {"n": ' + value + b"}}")
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


async def test_a_lone_surrogate_in_an_enum_value_is_a_clear_error(stage):
    """A wrong enum value is echoed in graphql-core's message; when it holds a lone surrogate the
    answer cannot be encoded (orjson), and the exception escapes the app: a real server answers 500."""
    body = encode({"query": "mutation M($d: Datum!) { updateMineLocation(mineId: \"1\", lat: 25.04, lng: 102.71, "
                            "datum: $d) { version } }", "variables": {"d": "\ud800"}})
    answer = await send(stage.client, body, token=stage.owner.token)
    assert answer.status < 500, answer.text
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


@pytest.mark.parametrize("mutation", ["login", "changePassword"])
async def test_a_lone_surrogate_in_a_password_is_refused_not_internal(stage, mutation):
    """argon2 hashes the UTF-8 bytes of the password; a lone surrogate cannot be encoded, and the
    UnicodeEncodeError is answered INTERNAL instead of a refusal."""
    if mutation == "login":
        body = encode({"query": LOGIN, "variables": {"u": "000000-009", "p": "\ud800"}})
        async with client_at(stage.env.app, "198.51.100.77", 44000) as client:
            answer = await send(client, body)
        assert answer.codes == ["UNAUTHENTICATED"] or answer.codes == ["BAD_USER_INPUT"], answer.text
    else:
        body = encode({"query": "mutation C($o: String!, $n: String!) { changePassword(oldPassword: $o, "
                                "newPassword: $n, confirmPassword: $n) }", "variables": {"o": "\ud800", "n": "x"}})
        answer = await send(stage.client, body, token=stage.spare.token)
        assert answer.codes == ["BAD_USER_INPUT"], answer.text


@pytest.mark.parametrize("body", [b"\x87\xae\x82", b"\xff\xfe\x00", b"null", b"0", b'"query"',
                                  b"[" * 50_000 + b"]" * 50_000], ids=["latin", "bom", "null", "number", "string",
                                                                      "deep"])
async def test_a_body_that_is_not_a_json_object_is_a_400(stage, body):
    """Bodies that are not UTF-8, not a JSON object, or nested past the parser's recursion limit
    raise out of the app (UnicodeDecodeError, AttributeError, RecursionError): a real server
    answers 500 instead of 400 with BAD_USER_INPUT."""
    answer = await _read(stage, body)
    assert answer.status == 400, answer.text
    assert answer.codes == ["BAD_USER_INPUT"], answer.text


async def test_a_nul_in_a_username_is_refused_not_internal(stage):
    """Found by the login fuzz on PostgreSQL: a username holding NUL ("\\x00", valid in JSON) reaches
    the account lookup, PostgreSQL refuses the text ("invalid byte sequence for encoding UTF8:
    0x00") and the login answers INTERNAL. SQLite stores and compares NUL, so it answers
    UNAUTHENTICATED there."""
    body = encode({"query": LOGIN, "variables": {"u": "000000-001\x00", "p": "wrong password"}})
    async with client_at(stage.env.app, "198.51.100.78", 44001) as client:
        answer = await send(client, body)
    assert answer.codes in (["UNAUTHENTICATED"], ["BAD_USER_INPUT"]), answer.text
