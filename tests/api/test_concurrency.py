"""Concurrent writers against one database, through two real server processes.

On SQLite that is one file; with TEST_DATABASE=postgresql one PostgreSQL database,
i.e. two instances of the service scaled out."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from support import servers
from support.environment import PASSWORD
from support.queries import LOGIN, SET_GUARANTOR, UPDATE_LOCATION

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
    audited = database.one("SELECT count(*) FROM audit_log WHERE mine_id = ? AND action LIKE 'mine.%'", mine_id)[0]
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
        assert database.one("SELECT count(*) FROM audit_log WHERE mine_id = ? AND action LIKE 'mine.%'", mine_id)[0] == audited + WRITES
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


async def test_racing_writes_to_one_field_each_build_on_the_last(two_servers):
    """No lost update, field by field: 30 locations and 30 COUNTY guarantors written at once through
    both instances, without expectedVersion. Each write must have read (under the lock) the value
    the previous one left: in the audit trail every record's old value is the previous record's new
    value, and the field ends with the value of the write that got the highest version."""
    import json

    database, running = two_servers
    mine_id, code, county, version = database.one(
        "SELECT id, code, county_code, version FROM mine WHERE city_code IS NOT NULL ORDER BY id LIMIT 1 OFFSET 1"
    )
    top = database.one("SELECT coalesce(max(id), 0) FROM audit_log")[0]
    clients = [httpx.AsyncClient(base_url=server.base, timeout=60, trust_env=False) for server in running]
    try:
        owner = (await _post(clients[0], LOGIN, {"u": code, "p": PASSWORD}))["data"]["login"]["token"]
        clerk = (await _post(clients[1], LOGIN, {"u": f"{county}-001", "p": PASSWORD}))["data"]["login"]["token"]
        jobs, sent = [], {"location": {}, "guarantor.COUNTY": {}}
        for i in range(30):
            lat = round(31.0 + i / 997, 6)
            sent["location"][i] = (lat, 105.0)
            jobs.append(_post(clients[i % 2], UPDATE_LOCATION,
                              {"id": str(mine_id), "lat": lat, "lng": 105.0, "datum": "WGS84"}, owner))
            sent["guarantor.COUNTY"][i] = f"链式{i}"
            jobs.append(_post(clients[(i + 1) % 2], SET_GUARANTOR, {
                "id": str(mine_id), "level": "COUNTY",
                "input": {"name": f"链式{i}", "position": "副县长", "phone": "13912345678"}}, clerk))
        results = await asyncio.gather(*jobs)
    finally:
        for client in clients:
            await client.aclose()
    assert [r.get("errors") for r in results] == [None] * 60
    versions = sorted(next(iter(r["data"].values()))["version"] for r in results)
    assert versions == list(range(version + 1, version + 61))
    assert database.one("SELECT version FROM mine WHERE id = ?", mine_id)[0] == version + 60

    rows = database.rows("SELECT field, old_value, new_value FROM audit_log WHERE id > ? AND mine_id = ? "
                         "AND action IN ('mine.location', 'mine.guarantor') ORDER BY id", top, mine_id)
    assert len(rows) == 60
    for field, key in (("location", ("wgs84",)), ("guarantor.COUNTY", ("name", "position", "phone"))):
        chain = [(json.loads(r["old_value"]) if r["old_value"] else None, json.loads(r["new_value"]))
                 for r in rows if r["field"] == field]
        assert len(chain) == 30
        for (_, previous), (old, _) in zip(chain, chain[1:]):
            assert old is not None and {k: old[k] for k in key} == {k: previous[k] for k in key}, (old, previous)
        # The field holds the value of the last write, which is the one answered with the highest version.
        last = chain[-1][1]
        if field == "location":
            highest = max((r for r in results if "updateMineLocation" in r["data"]),
                          key=lambda r: r["data"]["updateMineLocation"]["version"])["data"]["updateMineLocation"]
            point = highest["location"]["wgs84"]
            assert point == last["wgs84"]
            assert tuple(database.one("SELECT lat, lng FROM mine WHERE id = ?", mine_id)) == (point["lat"], point["lng"])
        else:
            highest = max((r for r in results if "setGuarantor" in r["data"]),
                          key=lambda r: r["data"]["setGuarantor"]["version"])["data"]["setGuarantor"]
            assert {"level": "COUNTY", "name": last["name"]} in [
                {"level": g["level"], "name": g["name"]} for g in highest["guarantors"]]
            assert database.one("SELECT name FROM guarantor WHERE mine_id = ? AND level = 'COUNTY'",
                                mine_id)[0] == last["name"]
    for server in running:
        assert "Traceback" not in server.log.read_text(), servers.tail(server.log)
