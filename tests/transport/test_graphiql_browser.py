"""GraphiQL in a real browser against a real server (black box).

Seeds a fresh demo database (SQLite or PostgreSQL, as the run's TEST_DATABASE says) with
``python -m cli seed --demo --mines 300``, starts ``python -m cli serve`` (tests/support/servers.py)
on a free loopback port, then drives Debian's chromium with Playwright: the page and all its
assets must load without any non-loopback request (the service runs on intranets without
internet), a wrong password must show the server's error message, logging in as the national
demo account must show the user, and a drill-down query run from the editor must show the
nation's total, which the test gets independently by POSTing the same query with httpx.

Needs /usr/bin/chromium (``apt-get install chromium``); never runs ``playwright install``.
Skipped when chromium is missing, except under CI=true where that is a failure.
"""

from __future__ import annotations

import json
import os
import urllib.parse

import httpx
import pytest

from support import servers
from support import sqldb

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
NATIONAL_USER = "000000-001"
UI_TIMEOUT_MS = 30_000

LOGIN_MUTATION = (
    "mutation($u:String!,$p:String!){ login(username:$u, password:$p)"
    "{ token user { username tier } } }"
)
# The query the test types into GraphiQL (through the page's ?q= parameter) and also
# POSTs itself; its own operation name proves the editor really holds it.
DRILL_DOWN = """query DrillDownTest {
  region {
    code
    name
    stats { total large medium small over30Workers over800mDepth }
    children {
      code
      name
      stats { total }
      children { code name stats { total } }
    }
  }
}
"""

# The full text of GraphiQL's result editor (CodeMirror 5 keeps the instance on its
# wrapper element; the DOM only holds the visible lines), once it is a GraphQL response.
RESULT_JS = """() => {
  const el = document.querySelector('.result-window .CodeMirror');
  const text = el && el.CodeMirror ? el.CodeMirror.getValue()
             : (document.querySelector('.result-window') || {}).innerText || '';
  try {
    const parsed = JSON.parse(text);
    return parsed && (parsed.data !== undefined || parsed.errors) ? text : null;
  } catch (e) {
    return null;
  }
}"""
QUERY_EDITOR_JS = """() => {
  const el = document.querySelector('.graphiql-query-editor .CodeMirror');
  return el && el.CodeMirror ? el.CodeMirror.getValue() : null;
}"""


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> str:
    if not os.path.exists(CHROMIUM):
        _missing("Debian chromium not installed at /usr/bin/chromium (apt-get install chromium)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _missing("the playwright Python package is not installed (pip install playwright)")
    return CHROMIUM


@pytest.fixture(scope="module")
def server(chromium, tmp_path_factory):
    """A seeded `minegraph serve` subprocess; yields ``.base`` (its URL) and ``.log``.

    The database and the server's log stay in pytest's temp dir for inspection.
    """
    tmp_path = tmp_path_factory.mktemp("graphiql-server")
    with sqldb.fresh_database(tmp_path) as database:
        servers.seed(database, 300)
        with servers.serving(database, tmp_path / "serve.log") as running:
            yield running


def _demo_password() -> str:
    from settings import get_settings

    return get_settings().demo_password


async def _post(client: httpx.AsyncClient, query: str, variables=None, token=None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    r = await client.post("/graphql", json={"query": query, "variables": variables or {}},
                          headers=headers)
    return r.json()


async def test_graphiql_login_and_drill_down(server, chromium, tmp_path):
    from playwright.async_api import async_playwright

    password = _demo_password()
    base = server.base

    # The expected answer, independently of the browser: log in and POST the same query.
    async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as client:
        body = await _post(client, LOGIN_MUTATION, {"u": NATIONAL_USER, "p": password})
        assert not body.get("errors"), body
        http_token = body["data"]["login"]["token"]
        expected = await _post(client, DRILL_DOWN, token=http_token)
        assert not expected.get("errors"), expected
        nation = expected["data"]["region"]
        assert nation["code"] == "000000"
        nation_total = nation["stats"]["total"]
        assert nation_total > 0
        # The message a wrong password gets (the same for a wrong username, by contract).
        wrong = await _post(client, LOGIN_MUTATION,
                            {"u": "000000-002", "p": password + "-wrong"})
        assert wrong.get("errors") and not (wrong.get("data") or {}).get("login"), wrong
        wrong_message = wrong["errors"][0]["message"]

    requests: list[str] = []
    outside: list[str] = []
    bad_responses: list[str] = []
    page_errors: list[str] = []

    def on_request(request):
        requests.append(f"{request.method} {request.url}")
        parts = urllib.parse.urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK_HOSTS:
            outside.append(request.url)

    def on_response(response):
        if "/graphiql-assets/" in response.url and response.status != 200:
            bad_responses.append(f"{response.status} {response.url}")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1400, "height": 900})

        # Offline, as on an intranet: anything not on loopback is recorded and refused.
        async def keep_offline(route):
            host = urllib.parse.urlsplit(route.request.url).hostname
            if host in LOOPBACK_HOSTS:
                await route.continue_()
            else:
                await route.abort()

        await context.route("**/*", keep_offline)
        page = await context.new_page()
        page.set_default_timeout(UI_TIMEOUT_MS)
        page.on("request", on_request)
        page.on("response", on_response)
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        screenshot = tmp_path / "graphiql.png"
        try:
            await page.goto(f"{base}/graphql")
            await page.wait_for_selector(".graphiql-execute-button")
            await page.wait_for_function(QUERY_EDITOR_JS)
            assert "query DrillDown" in await page.evaluate(QUERY_EDITOR_JS)
            assert "Not logged in" in await page.text_content("#login-status")

            # A wrong password shows the server's GraphQL error message.
            await page.fill("#login-username", NATIONAL_USER)
            await page.fill("#login-password", password + "-wrong")
            await page.click("#login-submit")
            await page.wait_for_function(
                "document.getElementById('login-error').textContent.trim().length > 0")
            error_text = await page.text_content("#login-error")
            assert wrong_message in error_text
            assert "Not logged in" in await page.text_content("#login-status")

            # The right one logs in: the bar shows the user and the tier.
            await page.fill("#login-password", password)
            await page.click("#login-submit")
            await page.wait_for_function(
                "document.getElementById('login-status').textContent.includes(%s)"
                % json.dumps(NATIONAL_USER))
            status = await page.text_content("#login-status")
            assert NATIONAL_USER in status and "NATIONAL" in status, status
            assert (await page.text_content("#login-error")).strip() == ""
            assert await page.evaluate("sessionStorage.getItem('minegraph.token')")
            # GraphiQL refetches the schema with the token: let it finish before leaving.
            await page.wait_for_load_state("networkidle")

            # Put the query in the editor through the page's shareable ?q= parameter
            # (GET /graphql?query= would be executed by the server instead); the token
            # survives the navigation in sessionStorage.
            await page.goto(f"{base}/graphql?q={urllib.parse.quote(DRILL_DOWN)}")
            await page.wait_for_selector(".graphiql-execute-button")
            await page.wait_for_function(QUERY_EDITOR_JS)
            assert "query DrillDownTest" in await page.evaluate(QUERY_EDITOR_JS)
            await page.wait_for_function(
                "document.getElementById('login-status').textContent.includes(%s)"
                % json.dumps(NATIONAL_USER))

            await page.click(".graphiql-execute-button")
            handle = await page.wait_for_function(RESULT_JS)
            result = json.loads(await handle.json_value())
            assert not result.get("errors"), result
            assert result["data"]["region"]["stats"]["total"] == nation_total
            assert result["data"] == expected["data"]
            visible = await page.inner_text(".result-window")
            assert f'"total": {nation_total}' in visible, visible[:500]
        finally:
            await page.screenshot(path=str(screenshot))
            print(f"screenshot: {screenshot}")
            await browser.close()

    assert not outside, f"requests left loopback: {outside}"
    assert not bad_responses, f"GraphiQL assets not served: {bad_responses}"
    assert not page_errors, f"JavaScript errors on the page: {page_errors}"
    assert any("/graphiql-assets/graphiql/graphiql.min.js" in r for r in requests), requests
    assert any(r.startswith("POST ") and r.endswith("/graphql") for r in requests), requests
    log_text = server.log.read_text(errors="replace")
    assert "Traceback" not in log_text, f"the server logged an exception:\n{servers.tail(server.log)}"
