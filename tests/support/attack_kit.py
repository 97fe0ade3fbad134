"""What the authentication-attack tests share: an app on a database of their own, requests from
chosen client addresses, the lockout counters and audit rows read beside the service, and a
fake clock for the throttle buckets.

Every test speaks from client addresses of its own (httpx's ASGITransport sets the TCP peer),
so the in-process buckets and the per-address counters of one test never touch another's.
Time moves by editing the database rows (lockouts) or by a fake clock on the app's buckets
(throttles), never by sleeping. The fixtures (`attack_env` per module, `bucket_clock`) reach
the tests through conftest, which registers this module as a plugin.
"""

from __future__ import annotations

import math
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from types import SimpleNamespace

import httpx
import pytest
from starlette.requests import Request

from auth.throttle import Guards, guards_for
from support.environment import PASSWORD, Result, build_env, client_at, post_graphql
from support.queries import LOGIN


@pytest.fixture(scope="module")
async def attack_env(tmp_path_factory, fake_wechat):
    async with AsyncExitStack() as stack:
        env = await build_env(stack, tmp_path_factory.mktemp("attacks"), mines=300, seed=5,
                              **fake_wechat.settings_overrides())
        env.clients = {}
        env.stack = stack
        yield env


def _at(env, address: str) -> httpx.AsyncClient:
    """A client whose requests come from `address` (one per address, closed with the env)."""
    if address not in env.clients:
        env.clients[address] = client_at(env.app, address)
        env.stack.push_async_callback(env.clients[address].aclose)
    return env.clients[address]


async def gql(env, address: str, query: str, variables: dict | None = None, *, token: str | None = None,
              request_id: str | None = None) -> Result:
    headers = {"X-Request-ID": request_id} if request_id else {}
    return await post_graphql(_at(env, address), query, variables, token=token, headers=headers)


async def login(env, address: str, username: str, password: str = PASSWORD, **kwargs) -> Result:
    return await gql(env, address, LOGIN, {"u": username, "p": password}, **kwargs)


def retry_after(result: Result, index: int = 0) -> int:
    """retryAfterSeconds, which the message states too."""
    error = result.errors[index]
    seconds = error["extensions"]["retryAfterSeconds"]
    assert f"try again in {seconds} s" in error["message"]
    return seconds


def counters(env, username: str) -> dict[str, dict]:
    rows = env.db.execute("SELECT * FROM login_failure WHERE username = ?", (username,)).fetchall()
    return {row["client"]: dict(row) for row in rows}


def expire_locks(env, username: str) -> None:
    """Make the username's locks lie in the past, as if their time had run out."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    env.db.execute("UPDATE login_failure SET locked_until = ? WHERE username = ? AND locked_until IS NOT NULL",
                   (past, username))
    env.db.commit()


def audit_rows(env, where: str = "1=1", args=()) -> list[dict]:
    return [dict(r) for r in env.db.execute(f"SELECT * FROM audit_log WHERE {where} ORDER BY id", args)]


class FakeClock:
    """Stands still until moved on: integer nanoseconds (as time.monotonic_ns), `offset` in seconds.

    It starts from a fixed instant, not the machine's clock: the buckets' arithmetic must not
    depend on how long the machine has been up."""

    def __init__(self, start_ns: int = 0) -> None:
        self.start_ns, self.offset = start_ns, 0

    def __call__(self) -> int:
        return self.start_ns + math.floor(Fraction(self.offset) * 1_000_000_000)


@pytest.fixture
def bucket_clock(attack_env, monkeypatch):
    """Freeze-and-advance control over the app's throttle buckets (emptied: their times were
    of the real clock)."""
    guards: Guards = guards_for(SimpleNamespace(request=SimpleNamespace(app=attack_env.app),
                                                settings=attack_env.settings))
    clock = FakeClock()
    for buckets in (guards.attempts, guards.failures, guards.audit):
        monkeypatch.setattr(buckets, "clock", clock)
        buckets._state.clear()
    return clock


def province(env, n: int = 0) -> str:
    return env.db.execute("SELECT code FROM region WHERE level = 'PROVINCE' ORDER BY code").fetchall()[n][0]


def connection(peer: str, forwarded: list[str] | None = None) -> Request:
    """A bare request from `peer` (with X-Forwarded-For headers), for code that reads it directly."""
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded or []]
    return Request({"type": "http", "method": "POST", "path": "/graphql", "headers": headers, "client": (peer, 5000)})
