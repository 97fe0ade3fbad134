"""Login: argon2-checked passwords, opaque bearer tokens."""

from __future__ import annotations

from conftest import PASSWORD
from queries import LOGIN, ME


async def test_login_returns_a_token_that_identifies_the_user(gql, db):
    result = await gql(LOGIN, {"u": "000000-001", "p": PASSWORD})
    payload = result.data["login"]
    assert payload["user"] == {"username": "000000-001", "tier": "NATIONAL", "guarantorLevel": None,
                               "region": {"code": "000000"}}
    me = await gql(ME, token=payload["token"])
    assert me.data["me"]["username"] == "000000-001"
    # Only a digest of the token is stored.
    stored = [r[0] for r in db.execute("SELECT token_hash FROM auth_session")]
    assert payload["token"] not in stored and len(stored[0]) == 64


async def test_wrong_username_and_wrong_password_look_the_same(gql):
    wrong_password = await gql(LOGIN, {"u": "000000-001", "p": "nope"})
    wrong_user = await gql(LOGIN, {"u": "nobody", "p": PASSWORD})
    assert wrong_password.codes == wrong_user.codes == ["UNAUTHENTICATED"]
    assert wrong_password.errors[0]["message"] == wrong_user.errors[0]["message"]


async def test_region_001_accounts_hold_the_guarantor_role(gql, db):
    province = db.execute("SELECT code FROM region WHERE level = 'PROVINCE' ORDER BY code LIMIT 1").fetchone()[0]
    first = await gql(LOGIN, {"u": f"{province}-001", "p": PASSWORD})
    other = await gql(LOGIN, {"u": f"{province}-002", "p": PASSWORD})
    assert first.data["login"]["user"]["guarantorLevel"] == "PROVINCE"
    assert other.data["login"]["user"]["guarantorLevel"] is None
