"""Authentication attacks on the per-address throttles: password spraying across usernames, every
login attempt and every WeChat login from one address, Retry-After in the error, the client
address behind trusted proxies, and the token buckets themselves.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.attack_kit import FakeClock, audit_rows, connection, gql, login, retry_after
from auth.throttle import Buckets, client_address, client_key, retry_seconds
from support.queries import WECHAT_LOGIN
from settings import Settings as AppSettings


async def test_failed_logins_from_one_address_are_throttled_across_usernames(attack_env, bucket_clock):
    """Password spraying: one guess at many usernames never trips a per-account counter."""
    env, here = attack_env, "203.0.113.100"
    burst = env.settings.throttle_failures_burst
    for n in range(burst):
        assert (await login(env, here, f"sprayed-{n}", "Password123")).codes == ["UNAUTHENTICATED"]
    refused = await login(env, here, "000000-009")  # even a right password: the address waits
    assert refused.codes == ["RATE_LIMITED"] and "network address" in refused.message
    assert retry_after(refused) == 10  # 6 a minute: one every 10 s
    assert (await login(env, "198.51.100.100", "000000-009")).errors is None  # other addresses go on
    bucket_clock.offset += 10
    assert (await login(env, here, "000000-009")).errors is None


async def test_every_attempt_from_one_address_is_throttled(attack_env, bucket_clock):
    env, here = attack_env, "203.0.113.110"
    for n in range(env.settings.throttle_login_burst):
        assert (await login(env, here, "000000-010")).errors is None, n
    refused = await login(env, here, "000000-010")
    assert refused.codes == ["RATE_LIMITED"] and retry_after(refused) == 2  # 30 a minute
    refused_wechat = await gql(env, here, WECHAT_LOGIN, {"code": "0" * 16})
    assert refused_wechat.codes == ["RATE_LIMITED"]
    bucket_clock.offset += 2
    assert (await login(env, here, "000000-010")).errors is None


async def test_wechat_login_is_throttled_per_address(attack_env, fake_wechat):
    env, here = attack_env, "203.0.113.120"
    for n in range(env.settings.throttle_failures_burst):
        result = await gql(env, here, WECHAT_LOGIN, {"code": fake_wechat.new_code(f"oid-stranger-{n}")})
        assert result.codes == ["UNAUTHENTICATED"], result.errors  # not bound to any account
    refused = await gql(env, here, WECHAT_LOGIN, {"code": fake_wechat.new_code("oid-stranger-x")})
    assert refused.codes == ["RATE_LIMITED"] and retry_after(refused) >= 1
    failed = audit_rows(env, "action = 'account.wechat_login_failed' AND client = ?", (here,))
    assert len(failed) == env.settings.throttle_failures_burst
    assert json.loads(failed[0]["new_value"]) == {"reason": "not bound"}
    refused_rows = audit_rows(env, "action = 'account.login_refused' AND client = ?", (here,))
    assert json.loads(refused_rows[-1]["new_value"])["via"] == "wechat"


async def test_retry_after_is_in_the_error_extensions(attack_env):
    env, here, user = attack_env, "203.0.113.130", "000000-001"
    for _ in range(6):
        result = await login(env, here, user, "wrong-password")
    assert result.codes == ["RATE_LIMITED"]
    # graphql-core takes `extensions` from the original error (MinegraphError.extensions); execution/errors.py adds the code.
    extensions = result.errors[0]["extensions"]
    assert extensions["code"] == "RATE_LIMITED" and 55 <= extensions["retryAfterSeconds"] <= 60


def test_client_address_believes_forwarding_only_from_trusted_proxies():
    plain = AppSettings(trusted_proxies=[])
    proxied = AppSettings(trusted_proxies="10.0.0.0/8, 192.168.1.1")
    spoof = ["1.1.1.1"]
    assert client_address(connection("203.0.113.5", spoof), plain) == "203.0.113.5"
    assert client_address(connection("203.0.113.5", spoof), proxied) == "203.0.113.5"  # not a proxy of ours
    # Behind our proxies: the right-most hop that is not one of them; what the client prepended is ignored.
    chain = ["6.6.6.6, 198.51.100.7", "10.1.2.3"]
    assert client_address(connection("192.168.1.1", chain), proxied) == "198.51.100.7"
    assert client_address(connection("10.9.9.9", ["garbage, 198.51.100.8"]), proxied) == "198.51.100.8"
    assert client_address(connection("10.9.9.9"), proxied) == "10.9.9.9"
    assert client_key("2001:db8:1:2:3:4:5:6") == client_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert client_key("203.0.113.5") == "203.0.113.5"


def test_buckets_refill_at_their_rate():
    clock = FakeClock(start_ns=123_456_789_012_345)  # an instant the floats could not hold exactly
    buckets = Buckets(per_minute=6, burst=2, clock=clock)
    assert buckets.take("a") == 0 and buckets.take("a") == 0
    assert buckets.take("a") == 10  # exactly: one token every 10 s
    clock.offset += 5
    assert buckets.wait("a") == 5
    clock.offset += 5
    assert buckets.take("a") == 0  # arriving exactly when the token refills
    assert buckets.take("b") == 0  # keys are independent


def test_a_request_at_the_refill_instant_is_admitted_whatever_the_clock_reads():
    """The reported bug: with float seconds, a request at the refill instant was told to wait 2.8e-14 s."""
    for start_ns in (0, 1, 999_999_999, 86_400 * 10**9 + 7, 2**62):
        clock = FakeClock(start_ns)
        buckets = Buckets(per_minute=30, burst=1, clock=clock)
        assert buckets.take("a") == 0
        wait = buckets.take("a")
        assert wait == 2
        clock.offset += wait
        assert buckets.wait("a") == 0 and buckets.take("a") == 0, start_ns


NS = 10**9
RATES = st.one_of(st.integers(1, 100_000), st.floats(min_value=0.01, max_value=1e5, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(per_minute=RATES, burst=st.integers(1, 50), start_ns=st.integers(0, 2**62),
       gaps_ns=st.lists(st.integers(0, 120 * NS), max_size=30), late_ns=st.integers(0, 10 * NS),
       early_ns=st.integers(1, 10 * NS))
def test_refill_instants_are_exact(per_minute, burst, start_ns, gaps_ns, late_ns, early_ns):
    """For any rate, capacity and arrival times: the wait reported is exactly the time to the next
    token, a request arriving at or after that instant is admitted, one arriving before it is refused
    with exactly the rest of the wait."""
    clock = FakeClock(start_ns)
    buckets = Buckets(per_minute=per_minute, burst=burst, clock=clock)
    interval = Fraction(60) / Fraction(per_minute)  # seconds per token, exactly
    for gap in gaps_ns:  # some history of arrivals
        clock.offset += Fraction(gap, NS)
        buckets.take("k")
    for _ in range(burst):  # empty the bucket now, whatever it held
        buckets.take("k")
    wait = buckets.take("k")
    assert 0 < wait <= interval
    assert buckets.wait("k") == wait  # asking again takes nothing
    emptied_at = clock.offset
    if wait * NS > early_ns:  # an integer nanosecond strictly before the refill instant
        clock.offset = emptied_at + Fraction(early_ns, NS)
        assert buckets.take("k") == wait - Fraction(early_ns, NS)
    # At the first nanosecond at or after the exact refill instant (or any later one): admitted.
    clock.offset = emptied_at + Fraction(math.ceil(wait * NS) + late_ns, NS)
    assert buckets.wait("k") == 0
    assert buckets.take("k") == 0


def test_retry_after_rounds_an_exact_wait_up():
    assert retry_seconds(Fraction(0)) == 1 and retry_seconds(Fraction(10)) == 10
    assert retry_seconds(Fraction(10_000_000_001, NS)) == 11
