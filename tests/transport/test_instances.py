"""Several instances of the service on ONE database: a write through one instance is
what the other serves on the very next request.

Two real `minegraph serve` processes share a freshly seeded database (one SQLite file,
or with TEST_DATABASE=postgresql one PostgreSQL database: the scale-out set-up). Each
instance is asked first, so that anything it might keep in memory (a response cache,
loaders, the session) is warm; then the other instance writes; then the first one must
answer with the new state at once, with no wait and no retry.
"""

from __future__ import annotations

import httpx
import pytest

from support import servers
from support.environment import PASSWORD
from support.queries import LOGIN, SET_GUARANTOR, UPDATE_LOCATION

MINE = """
query Mine($id: ID!) {
  mine(id: $id) { version updatedAt guarantors { level name } location { wgs84 { lat lng } } }
}
"""
DASHBOARD = "query { dashboard { updatedAt stats { total } } }"


@pytest.fixture(scope="module")
def instances(tmp_path_factory):
    with servers.two_instances(tmp_path_factory.mktemp("instances")) as (database, running):
        clients = [httpx.Client(base_url=server.base, timeout=60, trust_env=False) for server in running]
        try:
            yield database, running, clients
        finally:
            for client in clients:
                client.close()


def _gql(client: httpx.Client, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("errors") is None, body["errors"]
    return body["data"]


def _login(client: httpx.Client, username: str) -> str:
    return _gql(client, LOGIN, {"u": username, "p": PASSWORD})["login"]["token"]


def _state(client: httpx.Client, mine_id: int, token: str) -> tuple[dict, dict]:
    data = _gql(client, MINE, {"id": str(mine_id)}, token)
    return data["mine"], _gql(client, DASHBOARD, token=token)["dashboard"]


def test_a_write_through_one_instance_is_served_by_the_other_at_once(instances):
    database, running, (a, b) = instances
    mine_id, code, county = database.one(
        "SELECT id, code, county_code FROM mine WHERE city_code IS NOT NULL ORDER BY id LIMIT 1")
    # Sessions live in the database: a token issued by one instance works on the other.
    national = _login(a, "000000-001")
    clerk = _login(b, f"{county}-001")
    owner = _login(a, code)

    # 1. A guarantor written through A, read through B (warmed up first).
    for _ in range(2):
        before, _dashboard = _state(b, mine_id, national)
    person = {"name": "跨实例甲", "position": "副县长", "phone": "13912345678"}
    written = _gql(a, SET_GUARANTOR, {"id": str(mine_id), "level": "COUNTY", "input": person},
                   clerk)["setGuarantor"]
    assert written["version"] == before["version"] + 1
    mine, dashboard = _state(b, mine_id, national)
    assert mine["version"] == written["version"]
    assert {"level": "COUNTY", "name": "跨实例甲"} in mine["guarantors"]
    assert mine["updatedAt"] == written["updatedAt"]
    assert dashboard["updatedAt"] == written["updatedAt"]  # the latest change anywhere in scope

    # 2. The other way round: a location written through B, read through A (warmed up first).
    for _ in range(2):
        before, _dashboard = _state(a, mine_id, national)
    assert before["version"] == written["version"]
    point = {"id": str(mine_id), "lat": 30.123, "lng": 104.456, "datum": "WGS84", "v": before["version"]}
    located = _gql(b, UPDATE_LOCATION, point, owner)["updateMineLocation"]
    assert located["version"] == before["version"] + 1
    mine, dashboard = _state(a, mine_id, national)
    assert mine["version"] == located["version"]
    assert mine["location"]["wgs84"] == {"lat": 30.123, "lng": 104.456}
    assert dashboard["updatedAt"] == mine["updatedAt"] == located["location"]["updatedAt"]

    # 3. And both instances agree with the database itself.
    row = database.one("SELECT version, lat, lng FROM mine WHERE id = ?", mine_id)
    assert tuple(row) == (located["version"], 30.123, 104.456)
    for client in (a, b):
        assert _state(client, mine_id, national)[0] == mine

    for server in running:
        assert "Traceback" not in server.log.read_text(), servers.tail(server.log)
