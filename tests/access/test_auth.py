"""Login: argon2-checked passwords, opaque bearer tokens."""

from __future__ import annotations

import asyncio
import threading

from auth import passwords
from support.environment import PASSWORD
from support.queries import LOGIN, ME


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


def test_seeded_passwords_are_stored_as_argon2id(db):
    hashes = [h for (h,) in db.execute("SELECT DISTINCT password_hash FROM account")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes), hashes


class _HeldHashing:
    """Stands in for the argon2 slots of auth/passwords.py: whatever thread runs a hash
    enters here and stays until the test lets it go (or, as a backstop, a timeout)."""

    def __init__(self) -> None:
        self.entered, self.release, self.left = threading.Event(), threading.Event(), threading.Event()

    def __enter__(self):
        self.entered.set()
        self.release.wait(timeout=15)
        self.left.set()
        return self

    def __exit__(self, *_exc) -> None:
        return None


async def test_password_hashing_leaves_the_event_loop_free(env, monkeypatch):
    """While a login's argon2 check is held mid-way, another request on the same app is answered.
    Had the check run on the event loop, the loop itself would be held: nothing else could be
    answered until the hash finished, and `left` would be set before /healthz returned."""
    held = _HeldHashing()
    monkeypatch.setattr(passwords, "_ARGON2_AT_ONCE", held)
    login = asyncio.create_task(env.gql(LOGIN, {"u": "000000-002", "p": PASSWORD}))
    while not held.entered.is_set():  # wait for the login to reach its hash
        assert not login.done(), login.result()
        await asyncio.sleep(0.005)
    health = await env.client.get("/healthz")
    assert health.status_code == 200
    assert not held.left.is_set() and not login.done()  # answered while the hash was still held
    held.release.set()
    result = await login
    assert result.errors is None and result.data["login"]["user"]["username"] == "000000-002"
