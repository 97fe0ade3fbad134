"""Shared fixtures: one seeded SQLite file, the app on it, and a caller per tier."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import httpx
import pytest

from app import create_app
from models.db import make_engine
from queries import LOGIN
from seed.demo import seed_demo
from settings import Settings

DEMO_MINES = 2500
PASSWORD = Settings().demo_password


@pytest.fixture(scope="session")
def db_path(tmp_path_factory):
    return tmp_path_factory.mktemp("db") / "minegraph.sqlite3"


@pytest.fixture(scope="session")
async def settings(db_path) -> Settings:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{db_path}", secret_key="test-secret")
    engine = make_engine(settings.database_url)
    await seed_demo(engine, mines=DEMO_MINES, seed=7, password=PASSWORD)
    await engine.dispose()
    return settings


@pytest.fixture(scope="session")
async def app(settings):
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://minegraph.test") as c:
        yield c


@dataclass
class Result:
    status: int
    data: dict | None
    errors: list | None

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors or []]


@pytest.fixture(scope="session")
def gql(client):
    async def run(query: str, variables: dict | None = None, token: str | None = None) -> Result:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
        body = response.json()
        return Result(response.status_code, body.get("data"), body.get("errors"))

    return run


@pytest.fixture(scope="session")
def db(settings, db_path):
    """A plain sqlite3 connection for independent reference counts."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def mines(db) -> list[dict]:
    """Every mine row, as the database holds it."""
    return [dict(r) for r in db.execute("SELECT * FROM mine")]


@pytest.fixture(scope="session")
def levels(db) -> dict[str, str]:
    return {r["code"]: r["level"] for r in db.execute("SELECT code, level FROM region")}


@dataclass(frozen=True)
class Caller:
    tier: str
    username: str
    region_code: str
    token: str
    mine_id: int | None = None


def _busiest(db, column: str, where: str = "1=1", args=()) -> str:
    row = db.execute(
        f"SELECT {column} AS c, count(*) AS n FROM mine WHERE {where} AND {column} IS NOT NULL "
        f"GROUP BY {column} ORDER BY n DESC, c LIMIT 1",
        args,
    ).fetchone()
    return row["c"]


@pytest.fixture(scope="session")
async def callers(gql, db) -> dict[str, Caller]:
    """One logged-in caller per tier, nested: the county lies in the city, in the province."""
    province = _busiest(db, "province_code")
    city = _busiest(db, "city_code", "province_code = ?", (province,))
    county = _busiest(db, "county_code", "city_code = ?", (city,))
    mine = db.execute("SELECT id, code FROM mine WHERE county_code = ? ORDER BY code LIMIT 1", (county,)).fetchone()
    plan = [
        ("NATIONAL", "000000-001", "000000", None),
        ("PROVINCE", f"{province}-002", province, None),
        ("CITY", f"{city}-003", city, None),
        ("COUNTY", f"{county}-004", county, None),
        ("ENTERPRISE", mine["code"], county, mine["id"]),
    ]
    found = {}
    for tier, username, region, mine_id in plan:
        result = await gql(LOGIN, {"u": username, "p": PASSWORD})
        assert result.errors is None, result.errors
        found[tier] = Caller(tier, username, region, result.data["login"]["token"], mine_id)
    return found
