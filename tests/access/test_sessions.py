"""Sessions: WeChat binding over real HTTP, logout, password changes, expiry, profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from support.environment import PASSWORD
from support.queries import CHANGE_PASSWORD, LOGIN_WITH_CODE, LOGOUT, ME, UPDATE_PROFILE, WECHAT_LOGIN
from support.statements import StatementCounter


@pytest.fixture(scope="module")
def county_accounts(fresh_env):
    county = fresh_env.db.execute(
        "SELECT code FROM region WHERE level = 'COUNTY' AND code IN (SELECT county_code FROM mine) ORDER BY code"
    ).fetchone()[0]
    return [f"{county}-00{i}" for i in range(1, 6)]


async def _me(env, token):
    return await env.gql(ME, token=token)


async def test_login_with_code_binds_then_wechat_login_logs_straight_in(fresh_env, fake_wechat, county_accounts):
    username = county_accounts[1]
    bound = await fresh_env.gql(
        LOGIN_WITH_CODE, {"u": username, "p": PASSWORD, "code": fake_wechat.new_code("openid-alpha")}
    )
    assert bound.errors is None, bound.errors
    again = await fresh_env.gql(WECHAT_LOGIN, {"code": fake_wechat.new_code("openid-alpha")})
    assert again.errors is None, again.errors
    assert again.data["wechatLogin"]["user"]["username"] == username
    me = await _me(fresh_env, again.data["wechatLogin"]["token"])
    assert me.data["me"]["username"] == username
    # The exchange carried the server's appid and secret; the client never sent an openid.
    sent = fake_wechat.requests[-1]
    assert sent["appid"] == fake_wechat.appid and sent["grant_type"] == "authorization_code"
    # session_key stays on the server: in no response body.
    for key in fake_wechat.issued_session_keys:
        assert key not in str(bound.data) and key not in str(again.data)


async def test_unbound_wechat_cannot_log_in(fresh_env, fake_wechat):
    result = await fresh_env.gql(WECHAT_LOGIN, {"code": fake_wechat.new_code("openid-nobody")})
    assert result.codes == ["UNAUTHENTICATED"] and "not bound" in result.message


async def test_one_openid_binds_one_account(fresh_env, fake_wechat, county_accounts):
    first, second = county_accounts[2], county_accounts[3]
    ok = await fresh_env.gql(LOGIN_WITH_CODE, {"u": first, "p": PASSWORD, "code": fake_wechat.new_code("openid-beta")})
    assert ok.errors is None
    taken = await fresh_env.gql(
        LOGIN_WITH_CODE, {"u": second, "p": PASSWORD, "code": fake_wechat.new_code("openid-beta")}
    )
    assert taken.codes == ["BAD_USER_INPUT"] and "another account" in taken.message
    owner = fresh_env.db.execute("SELECT username FROM account WHERE wechat_openid = 'openid-beta'").fetchall()
    assert [r[0] for r in owner] == [first]


@pytest.mark.parametrize(
    ("code", "expected", "fragment"),
    [
        ("err-40029", "BAD_USER_INPUT", "wx.login"),
        ("never-issued", "BAD_USER_INPUT", "wx.login"),
        ("err-45011", "RATE_LIMITED", ""),
        ("err-40226", "FORBIDDEN", ""),
    ],
)
async def test_wechat_errors_are_clear(fresh_env, code, expected, fragment):
    result = await fresh_env.gql(WECHAT_LOGIN, {"code": code})
    assert result.codes == [expected], result.errors
    assert fragment in result.message


async def test_a_used_code_is_refused(fresh_env, fake_wechat, county_accounts):
    code = fake_wechat.new_code("openid-gamma")
    await fresh_env.gql(LOGIN_WITH_CODE, {"u": county_accounts[4], "p": PASSWORD, "code": code})
    replay = await fresh_env.gql(WECHAT_LOGIN, {"code": code})
    assert replay.codes == ["BAD_USER_INPUT"]


async def test_logout_revokes_the_token_and_unbinds_wechat(fresh_env, fake_wechat, county_accounts):
    username = county_accounts[0]
    login = await fresh_env.gql(
        LOGIN_WITH_CODE, {"u": username, "p": PASSWORD, "code": fake_wechat.new_code("openid-delta")}
    )
    token = login.data["login"]["token"]
    other = (await fresh_env.gql(LOGIN_WITH_CODE, {"u": username, "p": PASSWORD})).data["login"]["token"]
    assert (await fresh_env.gql(LOGOUT, token=token)).data == {"logout": True}
    assert (await _me(fresh_env, token)).codes == ["UNAUTHENTICATED"]
    assert (await _me(fresh_env, other)).errors is None  # only the session used is revoked
    unbound = await fresh_env.gql(WECHAT_LOGIN, {"code": fake_wechat.new_code("openid-delta")})
    assert unbound.codes == ["UNAUTHENTICATED"]


async def test_change_password_revokes_other_sessions(fresh_env):
    username = "000000-009"
    here = (await fresh_env.gql(LOGIN_WITH_CODE, {"u": username, "p": PASSWORD})).data["login"]["token"]
    elsewhere = (await fresh_env.gql(LOGIN_WITH_CODE, {"u": username, "p": PASSWORD})).data["login"]["token"]
    new = "Kuang-Shan#2026"
    refusals = [
        ({"old": "wrong", "new": new, "confirm": new}, "old password"),
        ({"old": PASSWORD, "new": new, "confirm": new + "x"}, "confirmation"),
        ({"old": PASSWORD, "new": "short1A", "confirm": "short1A"}, "10"),
        ({"old": PASSWORD, "new": "alllowercaseletters", "confirm": "alllowercaseletters"}, "kinds of characters"),
    ]
    for variables, fragment in refusals:
        result = await fresh_env.gql(CHANGE_PASSWORD, variables, here)
        assert result.codes == ["BAD_USER_INPUT"], (variables, result.errors)
        assert fragment in result.message, result.message
    assert (await _me(fresh_env, elsewhere)).errors is None  # refusals changed nothing
    stored = "SELECT password_hash FROM account WHERE username = ?"
    seeded_hash = fresh_env.db.execute(stored, (username,)).fetchone()[0]
    result = await fresh_env.gql(CHANGE_PASSWORD, {"old": PASSWORD, "new": new, "confirm": new}, here)
    assert result.data == {"changePassword": True}
    new_hash = fresh_env.db.execute(stored, (username,)).fetchone()[0]
    assert new_hash.startswith("$argon2id$") and new_hash != seeded_hash and new not in new_hash
    assert (await _me(fresh_env, here)).errors is None
    assert (await _me(fresh_env, elsewhere)).codes == ["UNAUTHENTICATED"]
    assert (await fresh_env.gql(LOGIN_WITH_CODE, {"u": username, "p": PASSWORD})).codes == ["UNAUTHENTICATED"]
    assert (await fresh_env.gql(LOGIN_WITH_CODE, {"u": username, "p": new})).errors is None


def _age_session(db, token_column_value: str, **columns) -> None:
    assignments = ", ".join(f"{name} = ?" for name in columns)
    db.execute(f"UPDATE auth_session SET {assignments} WHERE token_hash = ?", [*columns.values(), token_column_value])
    db.commit()


async def test_idle_and_absolute_expiry(fresh_env):
    import hashlib

    stamp = lambda moment: moment.astimezone(UTC).replace(tzinfo=None)  # noqa: E731 (naive UTC, as tests write)
    now = datetime.now(UTC)
    idle = (await fresh_env.gql(LOGIN_WITH_CODE, {"u": "000000-008", "p": PASSWORD})).data["login"]["token"]
    old = (await fresh_env.gql(LOGIN_WITH_CODE, {"u": "000000-008", "p": PASSWORD})).data["login"]["token"]
    fresh = (await fresh_env.gql(LOGIN_WITH_CODE, {"u": "000000-008", "p": PASSWORD})).data["login"]["token"]
    idle_limit = timedelta(hours=fresh_env.settings.token_idle_hours)
    _age_session(fresh_env.db, hashlib.sha256(idle.encode()).hexdigest(),
                 last_seen_at=stamp(now - idle_limit - timedelta(minutes=1)))
    _age_session(fresh_env.db, hashlib.sha256(old.encode()).hexdigest(), expires_at=stamp(now - timedelta(minutes=1)))
    # A session used within the idle limit is kept alive (its clock is refreshed).
    _age_session(fresh_env.db, hashlib.sha256(fresh.encode()).hexdigest(),
                 last_seen_at=stamp(now - idle_limit + timedelta(minutes=10)))
    assert (await _me(fresh_env, idle)).codes == ["UNAUTHENTICATED"]
    assert (await _me(fresh_env, old)).codes == ["UNAUTHENTICATED"]
    assert (await _me(fresh_env, fresh)).errors is None
    seen = fresh_env.db.execute(
        "SELECT last_seen_at FROM auth_session WHERE token_hash = ?", (hashlib.sha256(fresh.encode()).hexdigest(),)
    ).fetchone()[0]
    assert seen > stamp(now - timedelta(minutes=1))


async def test_update_profile_validates_and_keeps_omitted_fields(fresh_env):
    token = await fresh_env.token("000000-007")
    first = await fresh_env.gql(
        UPDATE_PROFILE, {"input": {"name": "周敏", "phone": "139 1234 5678", "email": "Zhou.Min@Example.cn"}}, token
    )
    assert first.errors is None, first.errors
    profile = first.data["updateProfile"]
    assert profile["name"] == "周敏" and profile["phone"] == "13912345678"
    assert profile["email"].lower() == "zhou.min@example.cn"
    partial = await fresh_env.gql(UPDATE_PROFILE, {"input": {"email": ""}}, token)
    assert partial.data["updateProfile"] == {**profile, "email": None}
    for bad, fragment in [({"phone": "1391234"}, "mobile"), ({"email": "not-an-email"}, "email"), ({"name": ""}, "name")]:
        result = await fresh_env.gql(UPDATE_PROFILE, {"input": bad}, token)
        assert result.codes == ["BAD_USER_INPUT"] and fragment in result.message.lower(), result.errors
    me = await _me(fresh_env, token)
    assert me.data["me"]["name"] == "周敏"


async def test_account_events_are_audited(fresh_env):
    actions = {r[0] for r in fresh_env.db.execute("SELECT DISTINCT action FROM audit_log")}
    assert {"account.login", "account.login_failed", "account.logout", "account.password_changed",
            "account.wechat_bound", "account.profile_updated"} <= actions


async def test_the_token_is_read_by_the_point_reader_and_revocation_is_seen_at_once(fresh_env):
    """The bearer token is checked through the point reader (SQLite: on the event loop;
    PostgreSQL: autocommit, no ping), not the service's engine, yet a logout committed
    through the engine is seen by the very next request."""
    token = await fresh_env.token("000000-008")
    await _me(fresh_env, token)  # warm: later reads need no touch of the idle clock
    state = fresh_env.app.state
    engine, point = StatementCounter(state.engine.sync_engine), StatementCounter(state.point_reader.sync_engine)
    with engine, point:
        assert (await _me(fresh_env, token)).data["me"]["username"] == "000000-008"
    assert [s for s in point.statements if "auth_session" in s] and not engine.statements
    assert not [s for s in point.statements if "auth_session" not in s]  # no ping, no BEGIN
    assert (await fresh_env.gql(LOGOUT, token=token)).data == {"logout": True}
    assert (await _me(fresh_env, token)).codes == ["UNAUTHENTICATED"]
    fresh_env.tokens.pop("000000-008", None)


async def test_the_point_reader_keeps_its_connections_under_concurrent_requests(fresh_env):
    """Bursts of concurrent requests reuse the point reader's pooled connections: a pool that
    opened extra connections past its size and closed them again would pay a PostgreSQL
    connection set-up (a backend process) inside requests, which is what set the p99 under load."""
    import asyncio

    from sqlalchemy import event

    from models.point_reader import POOL_SIZE

    token = await fresh_env.token("000000-008")
    engine = fresh_env.app.state.point_reader.sync_engine

    async def burst() -> None:
        results = await asyncio.gather(*(_me(fresh_env, token) for _ in range(3 * POOL_SIZE)))
        assert all(r.data and r.data["me"]["username"] == "000000-008" for r in results)

    await burst()  # the pool fills up to its size
    opened: list[object] = []
    listener = lambda *_: opened.append(1)  # noqa: E731
    event.listen(engine, "connect", listener)
    try:
        for _ in range(3):
            await burst()
    finally:
        event.remove(engine, "connect", listener)
    assert opened == [] and engine.pool.checkedin() <= POOL_SIZE


async def test_a_failing_point_reader_falls_back_to_the_engine(fresh_env, tmp_path, monkeypatch):
    """Should the point reader fail (SQLite: shared memory busy; PostgreSQL: a connection
    that died while idle), the service's engine answers."""
    from models.point_reader import make_point_reader

    token = await fresh_env.token("000000-007")
    if fresh_env.database.postgresql:
        unopenable = make_point_reader(fresh_env.database.url.rsplit("/", 1)[0] + "/mg_no_such_database")
    else:
        unopenable = make_point_reader(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.sqlite3'}")
    monkeypatch.setattr(fresh_env.app.state, "point_reader", unopenable)
    try:
        with StatementCounter(fresh_env.app.state.engine.sync_engine) as engine:
            assert (await _me(fresh_env, token)).data["me"]["username"] == "000000-007"
        assert [s for s in engine.statements if "auth_session" in s]
    finally:
        await unopenable.dispose()
