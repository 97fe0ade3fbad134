"""The WeChat mini-program flow end to end, over real HTTP, against a real service process.

One `minegraph serve` process (tests/support/servers.py) on a freshly seeded database, its
WECHAT_API_BASE / WECHAT_APPID / WECHAT_SECRET pointed at the loopback jscode2session
server of tests/support/fake_wechat.py. Nothing in between is replaced: the client's request,
the service's own outgoing HTTP call and WeChat's answer all cross real sockets.
"""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest

from support import servers
from support.environment import PASSWORD
from support.queries import LOGIN_WITH_CODE, LOGOUT, ME, WECHAT_LOGIN
from support.sqldb import fresh_database

MINES = 300


@pytest.fixture(scope="module")
def service(tmp_path_factory, fake_wechat):
    directory = tmp_path_factory.mktemp("wechat-http")
    wechat = {name.upper(): value for name, value in fake_wechat.settings_overrides().items()}
    with fresh_database(directory) as database:
        servers.seed(database, MINES)
        with (servers.serving(database, directory / "serve.log", **wechat) as server,
              httpx.Client(base_url=server.base, timeout=30, trust_env=False) as client):
            yield SimpleNamespace(database=database, client=client)


def _post(client: httpx.Client, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text  # refusals are GraphQL errors, never a 4xx/5xx
    return response.json()


def _codes(body: dict) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


def test_bind_log_straight_in_log_out(service, fake_wechat):
    client = service.client
    username = service.database.one("SELECT code FROM mine ORDER BY id LIMIT 1")[0]  # an enterprise account
    openid = "openid-http-flow"

    first_code = fake_wechat.new_code(openid)
    bound = _post(client, LOGIN_WITH_CODE, {"u": username, "p": PASSWORD, "code": first_code})
    assert bound.get("errors") is None, bound["errors"]
    password_token = bound["data"]["login"]["token"]
    # The service exchanged the code itself, with its own appid and secret.
    [sent] = fake_wechat.requests_for(first_code)
    assert (sent["appid"], sent["secret"], sent["grant_type"]) == (
        fake_wechat.appid, fake_wechat.secret, "authorization_code")

    straight_in = _post(client, WECHAT_LOGIN, {"code": fake_wechat.new_code(openid)})
    assert straight_in.get("errors") is None, straight_in["errors"]
    assert straight_in["data"]["wechatLogin"]["user"] == {"username": username, "tier": "ENTERPRISE"}
    token = straight_in["data"]["wechatLogin"]["token"]
    assert token != password_token

    me = _post(client, ME, token=token)
    assert me.get("errors") is None and me["data"]["me"]["username"] == username
    # session_key stays on the server.
    for key in fake_wechat.issued_session_keys:
        assert key not in str(bound) and key not in str(straight_in)

    assert _post(client, LOGOUT, token=token) == {"data": {"logout": True}}
    refused = _post(client, ME, token=token)
    assert _codes(refused) == ["UNAUTHENTICATED"] and refused["data"] is None
    # 注销 also unbound WeChat: the same WeChat user no longer logs straight in.
    unbound = _post(client, WECHAT_LOGIN, {"code": fake_wechat.new_code(openid)})
    assert _codes(unbound) == ["UNAUTHENTICATED"]
    assert "not bound" in unbound["errors"][0]["message"] and "尚未绑定" in unbound["errors"][0]["message"]


@pytest.mark.parametrize(
    ("code", "expected", "fragments"),
    [
        ("err-40029", "BAD_USER_INPUT", ("凭证无效或已过期", "invalid or expired", "call wx.login() again")),
        ("never-issued", "BAD_USER_INPUT", ("invalid or expired",)),  # the fake's own 40029
        ("err-40163", "BAD_USER_INPUT", ("已被使用", "already been used")),
        ("err-45011", "RATE_LIMITED", ("过于频繁", "too many WeChat logins", "wait a minute")),
        ("err-40226", "FORBIDDEN", ("高风险用户", "high-risk user", "username and password instead")),
    ],
)
def test_wechat_errors_reach_the_client_clearly(service, fake_wechat, code, expected, fragments):
    body = _post(service.client, WECHAT_LOGIN, {"code": code})
    assert _codes(body) == [expected], body
    message = body["errors"][0]["message"]
    for fragment in fragments:
        assert fragment in message, message
    assert fake_wechat.requests_for(code), "the service did not ask WeChat"


def test_a_replayed_code_is_refused_as_used(service, fake_wechat):
    code = fake_wechat.new_code("openid-http-replay")
    _post(service.client, WECHAT_LOGIN, {"code": code})  # spent (unbound: refused, but exchanged)
    replay = _post(service.client, WECHAT_LOGIN, {"code": code})
    assert _codes(replay) == ["BAD_USER_INPUT"]
    assert "already been used" in replay["errors"][0]["message"]
