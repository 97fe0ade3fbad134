"""The test environment every area shares: a seeded database, the app on it, a client, callers.

conftest.py turns these into fixtures; tests that build their own environment import them from here.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import httpx

from models.db import make_engine
from seed.demo import seed_demo
from settings import Settings
from support import sqldb
from support.queries import LOGIN
from web.app import create_app

DEMO_MINES = 2500
PASSWORD = Settings().demo_password


@dataclass
class Result:
    status: int
    data: dict | None
    errors: list | None
    cache: str | None = None  # the X-Cache header: "miss", "hit", "shared" (None: not cacheable)

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors or []]

    @property
    def message(self) -> str:
        return self.errors[0]["message"] if self.errors else ""


async def post_graphql(client: httpx.AsyncClient, query: str, variables: dict | None = None, *,
                       token: str | None = None, headers: dict | None = None) -> Result:
    """One GraphQL request as clients send it (a JSON body, the token as a bearer), its answer as a Result."""
    headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    body = response.json()
    return Result(response.status_code, body.get("data"), body.get("errors"), response.headers.get("x-cache"))


@dataclass
class Env:
    settings: Settings
    app: object
    client: httpx.AsyncClient
    db: sqldb.Connection  # the test's own reads and writes, beside the service
    database: sqldb.Database
    tokens: dict[str, str] = field(default_factory=dict)

    async def gql(self, query: str, variables: dict | None = None, token: str | None = None) -> Result:
        return await post_graphql(self.client, query, variables, token=token)

    async def token(self, username: str, password: str = PASSWORD) -> str:
        """A session token for the account (one login per username and env)."""
        if username not in self.tokens:
            result = await self.gql(LOGIN, {"u": username, "p": password})
            assert result.errors is None, result.errors
            self.tokens[username] = result.data["login"]["token"]
        return self.tokens[username]


async def build_env(stack: AsyncExitStack, directory, *, mines: int = DEMO_MINES, seed: int = 7, **overrides) -> Env:
    database = stack.enter_context(sqldb.fresh_database(directory))  # dropped last, after the app is gone
    settings = Settings(database_url=database.url, secret_key="test-secret", **overrides)
    engine = make_engine(settings.database_url)
    await seed_demo(engine, mines=mines, seed=seed, password=PASSWORD)
    await engine.dispose()
    app = create_app(settings)
    await stack.enter_async_context(app.router.lifespan_context(app))
    client = await stack.enter_async_context(
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://minegraph.test")
    )
    db = database.connect()
    stack.callback(db.close)
    return Env(settings, app, client, db, database)


def client_at(app, address: str, port: int = 40123) -> httpx.AsyncClient:
    """An in-process client whose requests come from `address`: the ASGI scope's `client`, which
    the per-address throttles, lockouts and audit records see. Nothing is sent anywhere."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, port)),
                             base_url="http://minegraph.test")


@dataclass(frozen=True)
class Caller:
    tier: str
    username: str
    region_code: str
    token: str
    mine_id: int | None = None


def busiest(db, column: str, where: str = "1=1", args=()) -> str:
    row = db.execute(
        f"SELECT {column} AS c, count(*) AS n FROM mine WHERE {where} AND {column} IS NOT NULL "
        f"GROUP BY {column} ORDER BY n DESC, c LIMIT 1",
        args,
    ).fetchone()
    return row["c"]
