"""GraphQL over HTTP on a real `minegraph serve` process (uvicorn with h11): the graphql-http
server audit in development and production, a GET as long as the body limit, and the root address.

The audit needs node and npm (tests/support/http_audit.py): skipped with the reason without them, a failure
under CI=true.
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import quote, urlsplit

import httpx
import pytest

from support.environment import PASSWORD
from support.http_audit import audit_package, describe, run_audit, tally
from support.queries import LOGIN
from execution.documents import registry
from support.servers import seed, serving
from settings import Settings
from support.sqldb import fresh_database

MAX_BODY_BYTES = Settings().max_body_bytes  # the servers below run with the default
USERNAME = "000000-001"
PIECE = 8192

# Audits a persisted-only server cannot pass, each with why: they send ad-hoc documents
# (`{ __typename }` and the like) and expect them to run, or to fail GraphQL parsing or
# validation with a 200 under application/json; production refuses every document it does
# not hold with a 400 before parsing it.
PRODUCTION_CANNOT_PASS = {
    "22EB": "runs the ad-hoc `{ __typename }` (graphql-response+json)",
    "4655": "runs the ad-hoc `{ __typename }` (application/json)",
    "47DE": "runs the ad-hoc `{ __typename }` (Accept */*)",
    "80D8": "runs the ad-hoc `{ __typename }` (no Accept)",
    "82A3": "expects 200 for the ad-hoc `{ __typename }`",
    "BF61": "runs the ad-hoc `{ __type(name: ...) }`",
    "78D5": "runs the ad-hoc `{ __typename }`",
    "2C94": "runs the ad-hoc `{ __typename }` by POST",
    "5A70": "runs the ad-hoc `{ __typename }` by GET",
    "03D4": "runs the ad-hoc `{ __typename }` by POST",
    "34A2": "runs the ad-hoc `{ __typename }` (graphql-response+json)",
    "13EE": "runs the ad-hoc `{ __typename }` without errors",
    "8161": "runs the ad-hoc `query Query { __typename }` by name",
    "B8B3": "runs the ad-hoc `query Query { __typename }` by name",
    "94B0": "runs an ad-hoc document with variables: null",
    "94B1": "runs an ad-hoc document with operationName: null",
    "94B2": "runs an ad-hoc document with extensions: null",
    "0220": "runs an ad-hoc document with variables: null",
    "0221": "runs an ad-hoc document with operationName: null",
    "0222": "runs an ad-hoc document with extensions: null",
    "2EA1": "runs an ad-hoc `__type` query with variables",
    "28B9": "runs an ad-hoc `__type` query with variables",
    "D6D5": "runs an ad-hoc `__type` query by GET with variables",
    "6A70": "runs an ad-hoc `__type` query by GET with variables",
    "428F": "runs the ad-hoc `{ __typename }` with extensions",
    "1B7A": "runs the ad-hoc `{ __typename }` with extensions",
    "572B": "expects a parse failure of an ad-hoc document as 200 (application/json)",
    "FDE2": "expects a validation failure of an ad-hoc document as 200 (application/json)",
    "7B9B": "expects a variable coercion failure of an ad-hoc document as 200 (application/json)",
}


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    directory = tmp_path_factory.mktemp("http")
    with fresh_database(directory) as database:
        seed(database, 300)
        yield database


@pytest.fixture(scope="module")
def development(database, tmp_path_factory):
    with serving(database, tmp_path_factory.mktemp("dev") / "serve.log") as server:
        yield server


@pytest.fixture(scope="module")
def production(database, tmp_path_factory):
    with serving(database, tmp_path_factory.mktemp("prod") / "serve.log", MINEGRAPH_ENV="production") as server:
        yield server


def _login(base: str, body: dict) -> str:
    response = httpx.post(f"{base}/graphql", json=body, timeout=30, trust_env=False)
    assert response.status_code == 200, response.text
    return response.json()["data"]["login"]["token"]


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "with-token"])
def test_the_graphql_http_audit_passes_in_development(development, logged_in):
    package = audit_package()
    token = _login(development.base, {"query": LOGIN, "variables": {"u": USERNAME, "p": PASSWORD}}) if logged_in else None
    results = run_audit(package, f"{development.base}/graphql", token)
    print(f"development ({'token' if logged_in else 'anonymous'}): {tally(results)}")
    failing = [r for r in results if r["status"] != "ok"]
    assert len(results) >= 60 and not failing, describe(failing)


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "with-token"])
def test_the_graphql_http_audit_in_production_fails_only_what_needs_ad_hoc_documents(production, logged_in):
    package = audit_package()
    login = next(op for op in registry().values() if op.name == "Login")
    token = _login(production.base, {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": login.sha256}},
        "variables": {"username": USERNAME, "password": PASSWORD}}) if logged_in else None
    results = run_audit(package, f"{production.base}/graphql", token)
    print(f"production ({'token' if logged_in else 'anonymous'}): {tally(results)}")
    unexpected = [r for r in results if r["status"] != "ok" and r["id"] not in PRODUCTION_CANNOT_PASS]
    assert not unexpected, describe(unexpected)
    # The list is exact: an audit listed here that passes means the list (or production) changed.
    passing_anyway = sorted(r["id"] for r in results if r["status"] == "ok" and r["id"] in PRODUCTION_CANNOT_PASS)
    assert not passing_anyway, passing_anyway


def _raw_get(base: str, target: str) -> tuple[int, dict[str, str], bytes]:
    """One GET over a plain socket (httpx refuses URLs past 64 KiB, and this is about longer ones),
    sent in 8 KiB pieces as a network delivers it: on loopback in one piece, h11 would parse the
    whole head at once and never meet its limit, which bites while a head is still incomplete.
    (The pauses only make the pieces arrive apart; the answers asserted do not depend on them.)"""
    address = urlsplit(base)
    request = f"GET {target} HTTP/1.1\r\nHost: {address.netloc}\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(request), PIECE):
            conn.sendall(request[start:start + PIECE])
            time.sleep(0.01)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def test_a_get_as_long_as_the_body_limit_is_served_and_a_longer_one_is_414(development):
    """uvicorn's h11 answered any request line past 16 KiB with a text/plain 400 before the app."""
    def target(spaces: int) -> str:  # spaces ("+"): no tokens, within every document limit
        return "/graphql?query=" + quote("{ __typename") + "+" * spaces + quote("}")

    status, headers, body = _raw_get(development.base, target(MAX_BODY_BYTES - 1000))
    assert status == 200 and json.loads(body) == {"data": {"__typename": "Query"}}, (status, body[:300])
    status, headers, body = _raw_get(development.base, target(MAX_BODY_BYTES + 1000))
    assert status == 414 and headers["content-type"] == "application/json; charset=utf-8", (status, body[:300])
    [error] = json.loads(body)["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "POST" in error["message"], error
    assert headers["x-request-id"]


def test_the_address_uvicorn_prints_leads_to_graphiql(development):
    root = httpx.get(f"{development.base}/", timeout=30, trust_env=False)
    assert root.status_code in (307, 308) and root.headers["location"] == "/graphql"
    page = httpx.get(f"{development.base}/", headers={"accept": "text/html"}, follow_redirects=True, timeout=30,
                     trust_env=False)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
