"""The guarantor role is the account's `guarantor_level` column, read on every request:
never derived from the "-001" in a username, never cached in the session."""

from __future__ import annotations

import pytest

from support.queries import ME, SET_GUARANTOR

PERSON = {"name": "吴角色", "position": "副县长", "phone": "13800003333"}


@pytest.fixture(scope="module")
def county(fresh_env) -> dict:
    db = fresh_env.db
    mine = db.execute("SELECT id, county_code FROM mine ORDER BY id LIMIT 1").fetchone()
    code = mine["county_code"]
    return {"mine_id": mine["id"], "first": f"{code}-001", "second": f"{code}-002"}


def _set_role(db, username: str, level: str | None) -> None:
    db.execute("UPDATE account SET guarantor_level = ? WHERE username = ?", (level, username))
    db.commit()


async def _set_county_guarantor(env, county, username):
    variables = {"id": str(county["mine_id"]), "level": "COUNTY", "input": {**PERSON, "name": f"吴{username[-1]}"}}
    return await env.gql(SET_GUARANTOR, variables, await env.token(username))


async def test_the_role_moves_with_the_column_not_the_username(fresh_env, county):
    db, first, second = fresh_env.db, county["first"], county["second"]
    # Both logged in before the change: their sessions must not carry the old role.
    assert (await _set_county_guarantor(fresh_env, county, first)).errors is None
    assert (await _set_county_guarantor(fresh_env, county, second)).codes == ["FORBIDDEN"]
    _set_role(db, first, None)
    _set_role(db, second, "COUNTY")
    try:
        assert (await _set_county_guarantor(fresh_env, county, first)).codes == ["FORBIDDEN"]
        moved = await _set_county_guarantor(fresh_env, county, second)
        assert moved.errors is None, moved.errors
        assert {"level": "COUNTY", **PERSON, "name": "吴2"} in [
            {k: g[k] for k in ("level", "name", "position", "phone")} for g in moved.data["setGuarantor"]["guarantors"]
        ]
        me = await fresh_env.gql(ME, token=await fresh_env.token(first))
        assert me.data["me"]["guarantorLevel"] is None
    finally:
        _set_role(db, first, "COUNTY")
        _set_role(db, second, None)
    assert (await _set_county_guarantor(fresh_env, county, first)).errors is None
    assert (await _set_county_guarantor(fresh_env, county, second)).codes == ["FORBIDDEN"]
