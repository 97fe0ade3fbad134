"""The floor: plain Starlette endpoints that run the minimal SQL and answer with orjson.

Same database, same numbers, same JSON shape as minegraph's answers, none of GraphQL
(no parsing, validation, resolvers, auth middleware or response cache).

The drill-down is the least SQL that can produce it: ONE grouped statement,

    SELECT county_code, <measures> FROM mine [WHERE <filter>] GROUP BY county_code

(every mine has a county; on both databases it is a scan of the covering index
ix_mine_statistics), rolled up in memory to cities, provinces and the nation along the
region tree, which is read once at start-up as minegraph does. (An earlier plan had one
grouped statement per level; minegraph itself needs only one for the whole tree now, so a
per-level floor would be no floor.) The caller is not authenticated: minegraph spends one
indexed token lookup per request on that.

Run: DATABASE_URL=... uvicorn bench.floor_app:create_app --factory
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from hashlib import sha256
from typing import TYPE_CHECKING

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

CATEGORIES = ("10", "20", "30", "40")
MEASURES = """count(*),
  coalesce(sum(CASE WHEN scale = 'LARGE' THEN 1 ELSE 0 END), 0),
  coalesce(sum(CASE WHEN scale = 'MEDIUM' THEN 1 ELSE 0 END), 0),
  coalesce(sum(CASE WHEN scale = 'SMALL' THEN 1 ELSE 0 END), 0),
  coalesce(sum(CASE WHEN workers_per_shift > 30 THEN 1 ELSE 0 END), 0),
  coalesce(sum(CASE WHEN max_depth > 800 THEN 1 ELSE 0 END), 0)"""
FIELDS = ("total", "large", "medium", "small", "over30Workers", "over800mDepth")
SHANGHAI = timezone(timedelta(hours=8))
_hasher = PasswordHasher()


def _json(data: object, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def open_database(url: str) -> tuple[AsyncEngine, list, dict[str, int], dict[str, list[str]]]:
    """The engine (on SQLite with the server's pragmas) and what the floor and the naive baseline
    (bench/naive_app.py) read once at start-up, as minegraph does: the regions as (code,
    parent_code, level) rows in code order, each mineral's level by code and each region's children."""
    engine = create_async_engine(url)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    async with engine.connect() as conn:
        regions = (await conn.execute(text("SELECT code, parent_code, level FROM region ORDER BY code"))).all()
        minerals = dict((await conn.execute(text("SELECT code, level FROM mineral_type"))).all())
    children: dict[str, list[str]] = {}
    for code, parent, _level in regions:
        if parent is not None:
            children.setdefault(parent, []).append(code)
    return engine, regions, minerals, children


def _where(body: dict, minerals: dict[str, int]) -> tuple[str, dict]:
    """The two filter conditions the benchmark uses: mineral codes (any level) and statuses."""
    flt = (body or {}).get("filter") or {}
    clauses, params = [], {}
    codes = flt.get("mineralCodes")
    if codes is not None:
        parts = []
        for i, code in enumerate(codes):
            column = ("category_code", "group_code", "mineral_code")[minerals[code] - 1]
            parts.append(f"{column} = :m{i}")
            params[f"m{i}"] = code
        clauses.append("(" + (" OR ".join(parts) or "1 = 0") + ")")
    statuses = flt.get("productionStatuses")
    if statuses is not None:
        names = [f":s{i}" for i in range(len(statuses))]
        params.update({f"s{i}": s for i, s in enumerate(statuses)})
        clauses.append(f"production_status IN ({', '.join(names)})" if names else "1 = 0")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def create_app() -> Starlette:
    url = os.environ["DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: Starlette):
        engine, regions, minerals, children = await open_database(url)
        parents = {code: parent for code, parent, _level in regions}
        ancestors: dict[str, tuple[str, ...]] = {}
        for code in parents:
            chain = [code]
            while parents.get(chain[-1]) is not None:
                chain.append(parents[chain[-1]])
            ancestors[code] = tuple(chain)
        app.state.engine, app.state.children, app.state.minerals = engine, children, minerals
        app.state.ancestors = ancestors
        app.state.sqlite = url.startswith("sqlite")
        yield
        await engine.dispose()

    async def drilldown(request: Request) -> Response:
        state = request.app.state
        body = orjson.loads(await request.body() or b"{}")
        where, params = _where(body, state.minerals)
        sql = f"SELECT county_code, {MEASURES} FROM mine{where} GROUP BY county_code"
        async with state.engine.connect() as conn:
            rows = (await conn.execute(text(sql), params)).all()
        totals: dict[str, list[int]] = {}
        ancestors = state.ancestors
        for county, *numbers in rows:
            for code in ancestors[county]:
                acc = totals.get(code)
                if acc is None:
                    totals[code] = list(numbers)
                else:
                    for i in range(6):
                        acc[i] += numbers[i]
        zero = (0, 0, 0, 0, 0, 0)
        children = state.children

        def node(code: str, depth: int) -> dict:
            out = {"code": code, "stats": dict(zip(FIELDS, totals.get(code, zero)))}
            if depth < 3:
                out["children"] = [node(c, depth + 1) for c in children.get(code, ())]
            return out

        return _json({"data": {"region": node("000000", 0)}})

    async def dashboard(request: Request) -> Response:
        state = request.app.state
        sql = f"SELECT category_code, {MEASURES} FROM mine GROUP BY category_code"
        async with state.engine.connect() as conn:
            rows = (await conn.execute(text(sql))).all()
            latest = (await conn.execute(text("SELECT max(updated_at) FROM mine"))).scalar_one()
        totals = [0] * 6
        by_category = dict.fromkeys(CATEGORIES, 0)
        for category, *numbers in rows:
            for i in range(6):
                totals[i] += numbers[i]
            by_category[category] = numbers[0]
        if isinstance(latest, str):  # SQLite keeps naive UTC text
            latest = datetime.fromisoformat(latest).replace(tzinfo=UTC)
        updated_at = (latest or datetime.now(UTC)).astimezone(SHANGHAI).isoformat()
        stats = dict(zip(FIELDS, totals))
        stats["byCategory"] = [{"mineral": {"code": c}, "count": n} for c, n in by_category.items()]
        return _json({"data": {"dashboard": {"updatedAt": updated_at, "stats": stats}}})

    async def mines(request: Request) -> Response:
        state = request.app.state
        body = orjson.loads(await request.body() or b"{}")
        first = int(body.get("first", 20))
        after = body.get("after")
        params: dict = {"limit": first + 1}
        where = ""
        if after:
            county, _, code = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode().partition("\x1f")
            where = " WHERE (county_code, code) > (:county, :code)"
            params.update(county=county, code=code)
        sql = f"SELECT id, code, name, county_code FROM mine{where} ORDER BY county_code, code LIMIT :limit"
        async with state.engine.connect() as conn:
            rows = (await conn.execute(text(sql), params)).all()
            total = (await conn.execute(text("SELECT count(*) FROM mine"))).scalar_one()
        edges = [
            {"cursor": base64.urlsafe_b64encode(f"{r[3]}\x1f{r[1]}".encode()).decode().rstrip("="),
             "node": {"id": str(r[0]), "code": r[1], "name": r[2]}}
            for r in rows[:first]
        ]
        page = {"endCursor": edges[-1]["cursor"] if edges else None, "hasNextPage": len(rows) > first}
        return _json({"data": {"mines": {"totalCount": total, "edges": edges, "pageInfo": page}}})

    async def login(request: Request) -> Response:
        state = request.app.state
        body = orjson.loads(await request.body() or b"{}")
        async with state.engine.connect() as conn:
            row = (await conn.execute(text("SELECT id, password_hash FROM account WHERE username = :u"),
                                      {"u": body.get("username", "")})).first()

        def verify() -> bool:
            try:
                return row is not None and _hasher.verify(row[1], body.get("password", ""))
            except (VerificationError, InvalidHashError):
                return False

        if not await asyncio.to_thread(verify):
            return _json({"errors": [{"message": "wrong username or password"}]})
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        stamp = (lambda t: t.replace(tzinfo=None).isoformat(" ", "microseconds")) if state.sqlite else (lambda t: t)
        async with state.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO auth_session (token_hash, account_id, created_at, last_seen_at, expires_at) "
                     "VALUES (:h, :a, :c, :c, :e)"),
                {"h": sha256(token.encode()).hexdigest(), "a": row[0], "c": stamp(now),
                 "e": stamp(now + timedelta(days=30))})
            await conn.execute(
                text("INSERT INTO audit_log (at, account_id, username, action) VALUES (:at, :a, :u, 'account.login')"),
                {"at": stamp(now), "a": row[0], "u": body.get("username")})
        return _json({"data": {"login": {"token": token}}})

    async def health(_request: Request) -> Response:
        return _json({"status": "ok"})

    routes = [
        Route("/drilldown", drilldown, methods=["POST"]),
        Route("/dashboard", dashboard, methods=["POST", "GET"]),
        Route("/mines", mines, methods=["POST"]),
        Route("/login", login, methods=["POST"]),
        Route("/healthz", health),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
