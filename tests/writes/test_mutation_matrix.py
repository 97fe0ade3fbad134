"""Every mutation against every kind of caller: the answer code, and that a refusal changed nothing.
(createMine, revokeMine and reviewMineChange, which create or remove what the matrix's mine is,
have their rights table in tests/writes/test_mine_edits.py.)

The expectations are written out below as tables (from the rules of the issue and
README: PROVINCE/CITY/COUNTY guarantors by the `-001` account of the mine's province,
city or county; ENTERPRISE guarantor and location by the mine's own account; anyone
else who sees the mine FORBIDDEN; who cannot see it NOT_FOUND; no valid token
UNAUTHENTICATED), not computed by the code under test.
"""

from __future__ import annotations

import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest

from support.environment import PASSWORD, build_env
from support.error_language import assert_bilingual
from support.queries import (CHANGE_PASSWORD, LOGIN, LOGIN_WITH_CODE, LOGOUT, ME, PROPOSE_CHANGE, SET_GUARANTOR,
                     UPDATE_LOCATION, UPDATE_MINE, UPDATE_PROFILE, VERIFY_MINE, WECHAT_LOGIN)

OK, FORBIDDEN, NOT_FOUND, UNAUTHENTICATED = "ok", "FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"
WRITES = ("guarantor PROVINCE", "guarantor CITY", "guarantor COUNTY", "guarantor ENTERPRISE", "location")
_F, _NF, _UA = (FORBIDDEN,) * 5, (NOT_FOUND,) * 5, (UNAUTHENTICATED,) * 5

# caller -> expected answer to each of WRITES, in that order, on one mine (in a county with a
# city above it and a sibling mine beside it).
MINE_MATRIX = {
    "anonymous": _UA,
    "forged token": _UA,
    "national -001": _F,
    "national -002": _F,
    "province -001": (OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "province -002": _F,
    "city -001": (FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "city -002": _F,
    "county -001": (FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN),
    "county -002": _F,
    "own mine": (FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK),
    "sibling mine": _NF,  # another mine's account, same county: it sees only its own mine
    "other province -001": _NF,
    "other city -001": _NF,  # same province
    "other county -001": _NF,  # same city
}
TIERS = ("NATIONAL", "PROVINCE", "CITY", "COUNTY", "ENTERPRISE")
NEW_PASSWORD = "Kuang-Shan#2026"


@pytest.fixture(scope="module")
async def matrix_env(tmp_path_factory, fake_wechat):
    """fresh_env's database, with the login throttle opened: this module logs in some 60 times
    from one address within seconds (the throttle has tests of its own)."""
    async with AsyncExitStack() as stack:
        env = await build_env(
            stack, tmp_path_factory.mktemp("matrix"), mines=1500, seed=11,
            throttle_login_burst=10_000, throttle_failures_burst=10_000, **fake_wechat.settings_overrides(),
        )
        plain = env.gql

        async def gql(query: str, variables: dict | None = None, token: str | None = None):
            # Every refusal in the matrix is one a person is shown: Chinese first, then English.
            result = await plain(query, variables, token)
            assert_bilingual(result.errors)
            return result

        env.gql = gql
        yield env


@dataclass
class Cast:
    mine: dict
    usernames: dict[str, str | None]  # MINE_MATRIX caller -> username (None: no account)
    spare: dict[str, dict[str, str]]  # tier -> purpose -> an account used by one test only


def _one(db, sql: str, *args):
    row = db.execute(sql, args).fetchone()
    assert row is not None, sql
    return row


@pytest.fixture(scope="module")
def cast(matrix_env) -> Cast:
    db = matrix_env.db
    mine = dict(_one(db, """
        SELECT m.* FROM mine m
        WHERE m.city_code IS NOT NULL
          AND (SELECT count(*) FROM mine s WHERE s.county_code = m.county_code) > 1
          AND (SELECT count(*) FROM region r WHERE r.parent_code = m.city_code) > 1
          AND (SELECT count(*) FROM region r WHERE r.parent_code = m.province_code AND r.level = 'CITY') > 1
        ORDER BY m.id LIMIT 1"""))
    p, c, k = mine["province_code"], mine["city_code"], mine["county_code"]
    sibling = _one(db, "SELECT code FROM mine WHERE county_code = ? AND id != ? ORDER BY id LIMIT 1", k, mine["id"])
    other = {
        "province": _one(db, "SELECT code FROM region WHERE level = 'PROVINCE' AND code != ? ORDER BY code LIMIT 1", p),
        "city": _one(db, "SELECT code FROM region WHERE parent_code = ? AND level = 'CITY' AND code != ? "
                         "ORDER BY code LIMIT 1", p, c),
        "county": _one(db, "SELECT code FROM region WHERE parent_code = ? AND code != ? ORDER BY code LIMIT 1", c, k),
    }
    far_mines = [r[0] for r in db.execute(
        "SELECT code FROM mine WHERE province_code != ? ORDER BY id LIMIT 3", (p,)).fetchall()]
    usernames = {
        "anonymous": None, "forged token": None,
        "national -001": "000000-001", "national -002": "000000-002",
        "province -001": f"{p}-001", "province -002": f"{p}-002",
        "city -001": f"{c}-001", "city -002": f"{c}-002",
        "county -001": f"{k}-001", "county -002": f"{k}-002",
        "own mine": mine["code"], "sibling mine": sibling[0],
        **{f"other {level} -001": f"{row[0]}-001" for level, row in other.items()},
    }
    # Logout and password changes end sessions: those get accounts of their own, unused elsewhere
    # (-003 to -005 exist at every level: cities and counties have five accounts).
    spare = {tier: {"wechat": f"{region}-003", "logout": f"{region}-004", "password": f"{region}-005"}
             for tier, region in (("NATIONAL", "000000"), ("PROVINCE", p), ("CITY", c), ("COUNTY", k))}
    spare["ENTERPRISE"] = dict(zip(("wechat", "logout", "password"), far_mines, strict=True))
    return Cast(mine, usernames, spare)


async def _token(env, cast: Cast, caller: str) -> str | None:
    if caller == "forged token":
        return secrets.token_urlsafe(32)  # shaped like a real token, issued by nobody
    username = cast.usernames[caller]
    return None if username is None else await env.token(username)


# --------------------------------------------------------------------------- mine writes


def _mine_state(db, mine_id: int) -> dict:
    """Everything a write to the mine could touch: its version and location, its guarantor
    rows, and its change records in the audit log."""
    mine = _one(db, "SELECT version, updated_at, lat, lng, source_datum, inside_county, location_updated_at "
                    "FROM mine WHERE id = ?", mine_id)
    guarantors = db.execute("SELECT level, name, position, phone, updated_at, entered_by FROM guarantor "
                            "WHERE mine_id = ? ORDER BY level", (mine_id,)).fetchall()
    # Only the change records: a FORBIDDEN answer adds an `access.refused` row naming the mine
    # (auth/refusals.py), by design.
    changes = _one(db, "SELECT count(*) FROM audit_log WHERE mine_id = ? AND action LIKE 'mine.%'", mine_id)[0]
    return {"mine": dict(mine), "guarantors": {g["level"]: dict(g) for g in guarantors}, "changes": changes}


def _request(write: str, mine_id: int, tag: str) -> tuple[str, dict, dict]:
    """(document, variables, what an allowed write leaves in the database)."""
    if write == "location":
        lat = 25.0 + secrets.randbelow(10_000) / 100_000  # a point this cell alone sends
        return UPDATE_LOCATION, {"id": str(mine_id), "lat": lat, "lng": 102.7, "datum": "WGS84"}, {"lat": lat}
    level = write.split()[1]
    person = {"name": f"矩阵{tag}", "position": "副县长", "phone": "13912345678"}
    return SET_GUARANTOR, {"id": str(mine_id), "level": level, "input": person}, {"level": level, **person}


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("caller", MINE_MATRIX)
async def test_mine_write(matrix_env, cast, caller, write):
    expected = MINE_MATRIX[caller][WRITES.index(write)]
    mine_id, db = cast.mine["id"], matrix_env.db
    token = await _token(matrix_env, cast, caller)
    document, variables, effect = _request(write, mine_id, secrets.token_hex(3))
    before = _mine_state(db, mine_id)
    result = await matrix_env.gql(document, variables, token)
    after = _mine_state(db, mine_id)
    if expected == OK:
        assert result.errors is None, result.errors
        assert after["mine"]["version"] == before["mine"]["version"] + 1
        assert after["changes"] == before["changes"] + 1
        if write == "location":
            assert after["mine"]["lat"] == pytest.approx(effect["lat"])
        else:
            row = after["guarantors"][effect["level"]]
            assert {k: row[k] for k in ("name", "position", "phone")} == {
                k: effect[k] for k in ("name", "position", "phone")}
    else:
        assert result.codes == [expected], result.errors
        assert result.data is None
        assert after == before, "a refused write changed the mine"


# --------------------------------------------------------------------------- basic data (issue 12)

BASIC_WRITES = ("updateMine", "verifyMine", "proposeMineChange")
_EDITOR = ("ok", "ok", FORBIDDEN)  # a -001 account of the mine's county, city, province or the nation
# caller -> expected answer to each of BASIC_WRITES on the same mine as MINE_MATRIX.
BASIC_MATRIX = {
    "anonymous": (UNAUTHENTICATED,) * 3, "forged token": (UNAUTHENTICATED,) * 3,
    "national -001": _EDITOR, "national -002": (FORBIDDEN,) * 3,
    "province -001": _EDITOR, "province -002": (FORBIDDEN,) * 3,
    "city -001": _EDITOR, "city -002": (FORBIDDEN,) * 3,
    "county -001": _EDITOR, "county -002": (FORBIDDEN,) * 3,
    "own mine": (FORBIDDEN, FORBIDDEN, OK),
    "sibling mine": (NOT_FOUND,) * 3,
    "other province -001": (NOT_FOUND,) * 3, "other city -001": (NOT_FOUND,) * 3,
    "other county -001": (NOT_FOUND,) * 3,
}


def _basic_state(db, mine_id: int) -> dict:
    row = _one(db, "SELECT workers_per_shift, verification_state, verified_by FROM mine WHERE id = ?", mine_id)
    requests = _one(db, "SELECT count(*) FROM mine_change_request WHERE mine_id = ?", mine_id)[0]
    return {**_mine_state(db, mine_id), "basic": tuple(row), "requests": requests}


@pytest.mark.parametrize("write", BASIC_WRITES)
@pytest.mark.parametrize("caller", BASIC_MATRIX)
async def test_basic_data_write(matrix_env, cast, caller, write):
    expected = BASIC_MATRIX[caller][BASIC_WRITES.index(write)]
    mine_id, db = cast.mine["id"], matrix_env.db
    token = await _token(matrix_env, cast, caller)
    before = _basic_state(db, mine_id)
    workers = 1000 + secrets.randbelow(10_000)  # a value this cell alone sends
    document, variables = {
        "updateMine": (UPDATE_MINE, {"id": str(mine_id), "input": {"workersPerShift": workers}}),
        "verifyMine": (VERIFY_MINE, {"id": str(mine_id), "v": before["mine"]["version"]}),
        "proposeMineChange": (PROPOSE_CHANGE, {"id": str(mine_id), "input": {"workersPerShift": workers}}),
    }[write]
    result = await matrix_env.gql(document, variables, token)
    after = _basic_state(db, mine_id)
    if expected == OK:
        assert result.errors is None, result.errors
        assert after["mine"]["version"] == before["mine"]["version"] + (write == "updateMine")
        assert after["changes"] == before["changes"] + 1
        if write == "updateMine":
            assert after["basic"][0] == workers
        elif write == "verifyMine":
            assert after["basic"][1:] == ("VERIFIED", cast.usernames[caller])
        else:
            assert after["requests"] == before["requests"] + 1 and after["basic"] == before["basic"]
    else:
        assert result.codes == [expected], result.errors
        assert result.data is None
        assert after == before, "a refused write changed the mine"


# --------------------------------------------------------------------------- account mutations


def _account_state(db) -> tuple:
    """Live sessions and account-change records: what an account mutation would move."""
    return (
        _one(db, "SELECT count(*) FROM auth_session WHERE revoked_at IS NULL")[0],
        _one(db, "SELECT count(*) FROM audit_log WHERE action IN "
                 "('account.logout', 'account.password_changed', 'account.profile_updated')")[0],
    )


ACCOUNT_WRITES = {
    "logout": (LOGOUT, {}),
    "changePassword": (CHANGE_PASSWORD, {"old": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    "updateProfile": (UPDATE_PROFILE, {"input": {"name": "张三"}}),
}


@pytest.mark.parametrize("mutation", ACCOUNT_WRITES)
@pytest.mark.parametrize("caller", ["anonymous", "forged token"])
async def test_account_mutations_need_a_live_session(matrix_env, cast, caller, mutation):
    document, variables = ACCOUNT_WRITES[mutation]
    before = _account_state(matrix_env.db)
    result = await matrix_env.gql(document, variables, await _token(matrix_env, cast, caller))
    assert result.codes == [UNAUTHENTICATED] and result.data is None, result.errors
    assert _account_state(matrix_env.db) == before


async def _login(env, username: str, password: str = PASSWORD) -> str:
    result = await env.gql(LOGIN, {"u": username, "p": password})
    assert result.errors is None, result.errors
    return result.data["login"]["token"]


@pytest.mark.parametrize("tier", TIERS)
async def test_login_binds_wechat_and_wechat_login_logs_straight_in(matrix_env, cast, fake_wechat, tier):
    username, openid = cast.spare[tier]["wechat"], f"openid-matrix-{tier}"
    bound = await matrix_env.gql(LOGIN_WITH_CODE, {"u": username, "p": PASSWORD, "code": fake_wechat.new_code(openid)})
    assert bound.errors is None, bound.errors
    again = await matrix_env.gql(WECHAT_LOGIN, {"code": fake_wechat.new_code(openid)})
    assert again.errors is None, again.errors
    assert again.data["wechatLogin"]["user"] == {"username": username, "tier": tier}
    me = await matrix_env.gql(ME, token=again.data["wechatLogin"]["token"])
    assert me.data["me"]["username"] == username and me.data["me"]["tier"] == tier


@pytest.mark.parametrize("caller", ["anonymous", "forged token"])
async def test_anyone_may_log_in_and_an_unbound_wechat_may_not(matrix_env, cast, fake_wechat, caller):
    # A client still holding a dead token can log in again: the header does not block it.
    headers_token = await _token(matrix_env, cast, caller)
    result = await matrix_env.gql(LOGIN, {"u": "000000-007", "p": PASSWORD}, headers_token)
    assert result.errors is None and result.data["login"]["user"]["tier"] == "NATIONAL", result.errors
    unbound = await matrix_env.gql(WECHAT_LOGIN, {"code": fake_wechat.new_code(f"openid-nobody-{caller}")},
                                   headers_token)
    assert unbound.codes == [UNAUTHENTICATED] and unbound.data is None


@pytest.mark.parametrize("tier", TIERS)
async def test_logout(matrix_env, cast, tier):
    username = cast.spare[tier]["logout"]
    token, other = await _login(matrix_env, username), await _login(matrix_env, username)
    result = await matrix_env.gql(LOGOUT, token=token)
    assert result.errors is None and result.data == {"logout": True}, result.errors
    assert (await matrix_env.gql(ME, token=token)).codes == [UNAUTHENTICATED]
    assert (await matrix_env.gql(ME, token=other)).data["me"]["username"] == username  # only this session


@pytest.mark.parametrize("tier", TIERS)
async def test_change_password(matrix_env, cast, tier):
    username = cast.spare[tier]["password"]
    here, elsewhere = await _login(matrix_env, username), await _login(matrix_env, username)
    document, variables = ACCOUNT_WRITES["changePassword"]
    result = await matrix_env.gql(document, variables, here)
    assert result.errors is None and result.data == {"changePassword": True}, result.errors
    assert (await matrix_env.gql(ME, token=here)).data["me"]["username"] == username
    assert (await matrix_env.gql(ME, token=elsewhere)).codes == [UNAUTHENTICATED]
    await _login(matrix_env, username, NEW_PASSWORD)  # the new password is the one that works


@pytest.mark.parametrize("caller", ["national -002", "province -002", "city -002", "county -002", "own mine"])
async def test_update_profile(matrix_env, cast, caller):
    name = f"矩阵{secrets.token_hex(2)}"
    result = await matrix_env.gql(UPDATE_PROFILE, {"input": {"name": name}}, await _token(matrix_env, cast, caller))
    assert result.errors is None, result.errors
    assert result.data["updateProfile"]["username"] == cast.usernames[caller]
    row = _one(matrix_env.db, "SELECT name FROM account WHERE username = ?", cast.usernames[caller])
    assert row[0] == name
