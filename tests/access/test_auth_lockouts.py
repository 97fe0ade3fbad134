"""Authentication attacks on the lockouts: failed logins lock the (username, address) pair and,
past a higher line, the account everywhere but the addresses it is known from and WeChat.

Locks escalate and are capped; unknown usernames lock the same way; aliased guesses in one
request never get past the counters; wrong old passwords count like failed logins.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import strawberry

from support.attack_kit import audit_rows, connection, counters, expire_locks, gql, login, province, retry_after
from support.environment import PASSWORD
from support.queries import CHANGE_PASSWORD, LOGIN_WITH_CODE, WECHAT_LOGIN


async def test_five_failures_lock_the_pair_and_then_a_correct_password_is_refused(attack_env):
    env, here, user = attack_env, "203.0.113.10", "000000-002"
    for n in range(5):
        result = await login(env, here, user, "wrong-password")
        assert result.codes == ["UNAUTHENTICATED"], (n, result.errors)
    sixth = await login(env, here, user, "wrong-password")
    assert sixth.codes == ["RATE_LIMITED"]
    assert "try again in" in sixth.message and 55 <= retry_after(sixth) <= 60
    correct = await login(env, here, user)
    assert correct.codes == ["RATE_LIMITED"], "a lock that let the right password through would protect nothing"
    pair = counters(env, user)[here]
    assert pair["lockouts"] == 1 and pair["locked_until"] > datetime.now(UTC).replace(tzinfo=None)
    locked = audit_rows(env, "action = 'account.locked' AND username = ?", (user,))
    assert len(locked) == 1 and locked[0]["client"] == here
    assert json.loads(locked[0]["new_value"])["scope"] == "address"
    assert json.loads(locked[0]["new_value"])["minutes"] == 1
    # Refused attempts are neither checked nor counted, but they are audited.
    assert len(audit_rows(env, "action = 'account.login_failed' AND username = ?", (user,))) == 5
    assert len(audit_rows(env, "action = 'account.login_refused' AND username = ?", (user,))) == 2


async def test_another_address_is_not_locked_out_by_the_attackers(attack_env):
    env, attacker, victim_at, user = attack_env, "203.0.113.20", "198.51.100.20", "000000-003"
    for _ in range(6):
        await login(env, attacker, user, "wrong-password")
    assert (await login(env, attacker, user)).codes == ["RATE_LIMITED"]
    ok = await login(env, victim_at, user)
    assert ok.errors is None and ok.data["login"]["user"]["username"] == user


async def test_a_lock_ends_and_a_success_starts_the_count_over(attack_env):
    env, here, user = attack_env, "203.0.113.30", "000000-004"
    for _ in range(5):
        await login(env, here, user, "wrong-password")
    assert (await login(env, here, user)).codes == ["RATE_LIMITED"]
    expire_locks(env, user)
    ok = await login(env, here, user)
    assert ok.errors is None, ok.errors
    pair = counters(env, user)[here]
    assert (pair["failures"], pair["lockouts"], pair["locked_until"]) == (0, 0, None)
    assert pair["last_success_at"] is not None


async def test_locks_escalate_and_are_capped(attack_env, bucket_clock):
    env, here, user = attack_env, "203.0.113.40", "000000-005"
    steps = env.settings.login_lockout_minutes
    assert steps == [1.0, 5.0, 15.0]
    for expected in [1, 5, 15, 15, 15]:
        for _ in range(env.settings.login_max_failures):
            result = await login(env, here, user, "wrong-password")
            assert result.codes == ["UNAUTHENTICATED"], result.errors
        refused = await login(env, here, user)
        assert refused.codes == ["RATE_LIMITED"]
        assert expected * 60 - 5 <= retry_after(refused) <= expected * 60
        expire_locks(env, user)
        bucket_clock.offset += 600  # the address's failure bucket refills meanwhile
    # At the cap the lock never grows: an attacker can keep a pair locked 15 minutes at a time, no longer.
    assert counters(env, user)[here]["lockouts"] == 5


async def test_unknown_usernames_lock_the_same_way(attack_env):
    env, here = attack_env, "203.0.113.50"
    for _ in range(5):
        assert (await login(env, here, "no-such-user", "wrong-password")).codes == ["UNAUTHENTICATED"]
    assert (await login(env, here, "no-such-user", "wrong-password")).codes == ["RATE_LIMITED"]


async def test_ten_aliased_attempts_in_one_request_never_get_past_the_counters(attack_env):
    """In the real schema `login` is non-null, so GraphQL ends a mutation at its first error: of ten
    aliased guesses only the first is tried (and counted). Five such requests lock the pair."""
    env, here, user = attack_env, "203.0.113.60", "000000-006"
    fields = " ".join(f'a{n}: login(username: "{user}", password: "guess-{n}") {{ token }}' for n in range(10))
    for attempt in range(5):
        result = await gql(env, here, f"mutation {{ {fields} }}", request_id=f"aliased-{attempt}")
        assert [(e["path"][0], e["extensions"]["code"]) for e in result.errors] == [("a0", "UNAUTHENTICATED")]
    refused = await gql(env, here, f"mutation {{ {fields} }}", request_id="aliased-5")
    assert [(e["path"][0], e["extensions"]["code"]) for e in refused.errors] == [("a0", "RATE_LIMITED")]
    assert len(audit_rows(env, "action = 'account.login_failed' AND username = ?", (user,))) == 5
    assert counters(env, user)[here]["lockouts"] == 1


@strawberry.type
class _Token:
    token: str


@strawberry.type
class _NullableLogin:
    @strawberry.mutation
    async def login(self, info: strawberry.Info, username: str, password: str) -> _Token | None:
        from resolvers import accounts

        token, _user = await accounts.login(info.context, username, password, None)
        return _Token(token=token)


@strawberry.type
class _Query:
    ok: bool = True


async def test_each_aliased_attempt_counts_even_where_one_error_does_not_end_the_request(attack_env):
    """The counting is inside the resolver, once per call: with a nullable `login` (so every alias
    runs) ten aliased guesses in ONE request are five failures, a lock, and five refusals."""
    from web.context import Context

    schema = strawberry.Schema(query=_Query, mutation=_NullableLogin)
    env, here, user = attack_env, "203.0.113.61", "000000-006"
    request = connection(here)
    request.scope["app"] = env.app
    context = Context(request, env.app.state.engine, env.app.state.trees, env.settings, None, "aliased-one-request")
    fields = " ".join(f'a{n}: login(username: "{user}", password: "guess-{n}") {{ token }}' for n in range(10))
    result = await schema.execute(f"mutation {{ {fields} }}", context_value=context)
    assert result.data == {f"a{n}": None for n in range(10)}
    codes = [(e.path[0], e.original_error.code) for e in result.errors]
    assert codes == [(f"a{n}", "UNAUTHENTICATED") for n in range(5)] + [(f"a{n}", "RATE_LIMITED") for n in range(5, 10)]
    actions = [r["action"] for r in audit_rows(env, "request_id = 'aliased-one-request'")]
    assert actions.count("account.login_failed") == 5
    assert actions.count("account.locked") == 1
    assert actions.count("account.login_refused") == 5
    assert counters(env, user)[here]["lockouts"] == 1


async def test_account_wide_lock_spares_known_addresses_and_wechat(attack_env, fake_wechat):
    env = attack_env
    user = f"{province(env)}-002"
    home = "198.51.100.70"  # where the victim logged in (and bound WeChat) before the attack
    bound = await gql(env, home, LOGIN_WITH_CODE, {"u": user, "p": PASSWORD, "code": fake_wechat.new_code("oid-victim")})
    assert bound.errors is None, bound.errors
    botnet = [f"192.0.2.{n}" for n in range(1, 5)]
    for address in botnet:  # 4 addresses x 5 failures = LOGIN_ACCOUNT_MAX_FAILURES (20)
        for _ in range(5):
            assert (await login(env, address, user, "wrong-password")).codes == ["UNAUTHENTICATED"]
    locked = [json.loads(r["new_value"])["scope"] for r in audit_rows(env, "action = 'account.locked' AND username = ?", (user,))]
    assert locked.count("address") == 4 and locked.count("account") == 1
    elsewhere = await login(env, "192.0.2.99", user)  # a fresh address: the account-wide lock holds
    assert elsewhere.codes == ["RATE_LIMITED"] and "WeChat" in elsewhere.message
    assert 55 <= retry_after(elsewhere) <= 60
    at_home = await login(env, home, user)
    assert at_home.errors is None, at_home.errors
    phone = await gql(env, "100.64.0.70", WECHAT_LOGIN, {"code": fake_wechat.new_code("oid-victim")})
    assert phone.errors is None and phone.data["wechatLogin"]["user"]["username"] == user


async def test_a_single_address_cannot_reach_the_account_wide_lock(attack_env, bucket_clock):
    """With the defaults one address gets 5 failures per lock; the account-wide line (20) needs several."""
    env, here, user = attack_env, "203.0.113.80", "000000-007"
    for _ in range(3):
        for _ in range(5):
            await login(env, here, user, "wrong-password")
        assert (await login(env, here, user)).codes == ["RATE_LIMITED"]
        expire_locks(env, user)
        bucket_clock.offset += 600
    assert counters(env, user)["*"]["locked_until"] is None
    assert (await login(env, "198.51.100.80", user)).errors is None


async def test_wrong_old_passwords_count_like_failed_logins(attack_env):
    env, here, user = attack_env, "203.0.113.90", "000000-008"
    token = (await login(env, here, user)).data["login"]["token"]
    bad = {"old": "not-the-password", "new": "Kuang-Shan#2027", "confirm": "Kuang-Shan#2027"}
    for _ in range(5):
        assert (await gql(env, here, CHANGE_PASSWORD, bad, token=token)).codes == ["BAD_USER_INPUT"]
    assert (await gql(env, here, CHANGE_PASSWORD, bad, token=token)).codes == ["RATE_LIMITED"]
    assert len(audit_rows(env, "action = 'account.password_change_failed' AND username = ?", (user,))) == 5

