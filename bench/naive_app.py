"""The N+1 baseline: the same drill-down in Strawberry, written the naive way.

Every Region.stats resolver runs its own statement (`... WHERE <level column> = :code`),
so a national province → city → county drill-down sends one statement per node
(~3,200). Children come from the in-memory region tree, as in minegraph, so the only
difference is the batching. No auth, no cache.

Run: DATABASE_URL=... uvicorn bench.naive_app:create_app --factory
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from enum import Enum

import orjson
import strawberry
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.types import Info

from bench.floor_app import MEASURES, open_database

STAT_NAMES = ("total", "large", "medium", "small", "over30_workers", "over800m_depth")
LEVEL_COLUMN = {"NATION": None, "PROVINCE": "province_code", "CITY": "city_code", "COUNTY": "county_code"}


@strawberry.enum
class ProductionStatus(Enum):
    NORMAL = "NORMAL"
    TRIAL = "TRIAL"
    CONSTRUCTION = "CONSTRUCTION"
    RECTIFICATION = "RECTIFICATION"
    SUSPENDED = "SUSPENDED"
    LONG_SUSPENDED = "LONG_SUSPENDED"
    CLOSED = "CLOSED"


@strawberry.input
class MineFilter:
    mineral_codes: list[str] | None = None
    production_statuses: list[ProductionStatus] | None = None


@strawberry.type
class MineStats:
    total: int
    large: int
    medium: int
    small: int
    over30_workers: int
    over800m_depth: int


@strawberry.type
class Region:
    code: str
    level: str

    @strawberry.field
    async def stats(self, info: Info, filter: MineFilter | None = None) -> MineStats:  # noqa: A002
        state = info.context["state"]
        clauses, params = [], {}
        column = LEVEL_COLUMN[self.level]
        if column:
            clauses.append(f"{column} = :code")
            params["code"] = self.code
        if filter and filter.mineral_codes is not None:
            parts = []
            for i, code in enumerate(filter.mineral_codes):
                parts.append(f"{('category_code', 'group_code', 'mineral_code')[state.minerals[code] - 1]} = :m{i}")
                params[f"m{i}"] = code
            clauses.append("(" + (" OR ".join(parts) or "1 = 0") + ")")
        if filter and filter.production_statuses is not None:
            names = [f":s{i}" for i in range(len(filter.production_statuses))]
            params.update({f"s{i}": s.value for i, s in enumerate(filter.production_statuses)})
            clauses.append(f"production_status IN ({', '.join(names)})" if names else "1 = 0")
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        async with state.engine.connect() as conn:
            row = (await conn.execute(text(f"SELECT {MEASURES} FROM mine{where}"), params)).one()
        return MineStats(**dict(zip(STAT_NAMES, row)))

    @strawberry.field
    def children(self, info: Info) -> list[Region]:
        state = info.context["state"]
        return [Region(code=c, level=state.levels[c]) for c in state.children.get(self.code, ())]


@strawberry.type
class Query:
    @strawberry.field
    def region(self, code: str = "000000") -> Region:
        return Region(code=code, level="NATION" if code == "000000" else "PROVINCE")


schema = strawberry.Schema(query=Query)


class NaiveGraphQL(GraphQL):
    async def get_context(self, request, response):
        return {"request": request, "response": response, "state": request.app.state}

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def create_app() -> Starlette:
    url = os.environ["DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: Starlette):
        engine, regions, minerals, children = await open_database(url)
        app.state.engine, app.state.children, app.state.minerals = engine, children, minerals
        app.state.levels = {code: level for code, _p, level in regions}
        yield
        await engine.dispose()

    async def health(_request):
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/graphql", NaiveGraphQL(schema), methods=["GET", "POST"]),
                             Route("/healthz", health)], lifespan=lifespan)
