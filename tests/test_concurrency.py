"""Concurrent writers against one database, through two real server processes.

On SQLite that is one file; with TEST_DATABASE=postgresql one PostgreSQL database,
i.e. two instances of the service scaled out."""

from __future__ import annotations

import asyncio

import httpx
import pytest

import servers
from conftest import PASSWORD
from queries import LOGIN, SET_GUARANTOR, UPDATE_LOCATION

WRITES = 40


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    with servers.two_instances(tmp_path_factory.mktemp("concurrency")) as (database, running):
        yield database, running


async def _post(client, query, variables, token=None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_concurrent_writes_lose_nothing(two_servers):
    database, running = two_servers
    bases = [server.base for server in running]
    mine_id, code, county, version = database.one(
        "SELECT id, code, county_code, version FROM mine WHERE city_code IS NOT NULL ORDER BY id LIMIT 1"
    )
    audited = database.one("SELECT count(*) FROM audit_log WHERE mine_id = ?", mine_id)[0]
    clients = [httpx.AsyncClient(base_url=base, timeout=60, trust_env=False) for base in bases]
    try:
        owner = (await _post(clients[0], LOGIN, {"u": code, "p": PASSWORD}))["data"]["login"]["token"]
        clerk = (await _post(clients[1], LOGIN, {"u": f"{county}-001", "p": PASSWORD}))["data"]["login"]["token"]
        jobs = []
        for i in range(WRITES):
            client = clients[i % 2]
            if i % 2:
                person = {"name": f"并发{i}", "position": "副县长", "phone": "13912345678"}
                jobs.append(_post(client, SET_GUARANTOR, {"id": str(mine_id), "level": "COUNTY", "input": person}, clerk))
            else:
                point = {"id": str(mine_id), "lat": 30.0 + i / 1000, "lng": 104.0, "datum": "WGS84"}
                jobs.append(_post(client, UPDATE_LOCATION, point, owner))
        results = await asyncio.gather(*jobs)
        assert [r.get("errors") for r in results] == [None] * WRITES
        # Every acknowledged write counted once: in the version and in the audit trail.
        assert database.one("SELECT version FROM mine WHERE id = ?", mine_id)[0] == version + WRITES
        assert database.one("SELECT count(*) FROM audit_log WHERE mine_id = ?", mine_id)[0] == audited + WRITES
        versions = sorted(
            r["data"][next(iter(r["data"]))]["version"] for r in results
        )
        assert versions == list(range(version + 1, version + WRITES + 1))  # each saw its own change

        # With the same expectedVersion, exactly one of many wins; the rest change nothing.
        current = version + WRITES
        racing = [
            _post(clients[i % 2], SET_GUARANTOR, {
                "id": str(mine_id), "level": "ENTERPRISE", "v": current,
                "input": {"name": f"抢先{i}", "position": "矿长", "phone": "13800000000"},
            }, owner)
            for i in range(20)
        ]
        outcomes = await asyncio.gather(*racing)
        codes = sorted((r.get("errors") or [{"extensions": {"code": "OK"}}])[0]["extensions"]["code"] for r in outcomes)
        assert codes == ["CONFLICT"] * 19 + ["OK"]
        assert database.one("SELECT version FROM mine WHERE id = ?", mine_id)[0] == current + 1
    finally:
        for client in clients:
            await client.aclose()
    for server in running:
        assert "Traceback" not in server.log.read_text(), servers.tail(server.log)
