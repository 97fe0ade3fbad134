"""The ASGI application: HTTP → context (caller, scope, fresh loaders) → schema."""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import Mount, Route
from starlette.responses import JSONResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

from auth import log_redaction
from auth.sessions import BearerTokenBackend
from admin.retention import daily_purge
from web.export_http import routes as export_routes
from web.graphql_view import MinegraphGraphQL
from web.http_transport import RequestIds, TargetLimit
from web.import_http import ImportEndpoint
from models.db import UNAVAILABLE_MESSAGE, database_ready, make_engine_for
from models.geo import warm_up
from models.point_reader import make_point_reader
from models.trees import NATION_CODE, load_trees

from schema.build import build_schema
from settings import ROOT, Settings, get_settings

if TYPE_CHECKING:
    from starlette.requests import Request

log = logging.getLogger("minegraph")
GRAPHIQL_DIR = ROOT / "static" / "graphiql"
# Young-generation size before a cyclic collection (CPython's default is 700). A national
# drill-down allocates ~100,000 containers that die with the request; at 700 they set off
# dozens of collections per request and a full one every few requests (+70 ms each).
GC_YOUNG_THRESHOLD = 20_000


def settle_gc() -> None:
    """After start-up: move everything loaded so far (modules, schema, trees) out of the
    collector's sight, since it lives as long as the process, and collect less often."""
    gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    log_redaction.install()  # phones are masked in every log record of a serving process
    if not settings.secret_key:
        settings.secret_key = settings.resolved_secret_key()
    schema = build_schema(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        engine = make_engine_for(settings)
        trees = await load_trees(engine)
        if NATION_CODE not in trees.regions:
            await engine.dispose()
            raise RuntimeError("the database holds no region tree: run `minegraph seed --demo` first")
        app.state.engine, app.state.trees, app.state.settings = engine, trees, settings
        app.state.filter_type = schema._schema.get_type("MineFilter")  # the exports' filter parameter
        app.state.point_reader = point_reader = make_point_reader(
            settings.database_url, settings.database_connect_timeout_s)
        log.info("serving %d regions, %d mineral types", len(trees.regions), len(trees.minerals))
        # The county polygons (~3,000, built from a 10 MB GeoJSON) would otherwise be built by the
        # first location write or minesNear, on the event loop, stalling every request meanwhile.
        # Built in a thread, before settle_gc so that they are frozen with the rest. Start-up takes
        # ~3 s longer (measured 0.2-0.6 s -> 2.4-3.7 s on 2 busy cores); awaited here rather than
        # in the background, as the cache is per process (in-process test apps pay once) and most
        # test servers write a location early anyway.
        await asyncio.to_thread(warm_up)
        settle_gc()
        async with daily_purge(engine, settings):
            yield
        if point_reader is not None:
            await point_reader.dispose()
        await engine.dispose()

    async def health(_request: Request) -> JSONResponse:
        """Liveness: the process answers (a load balancer restarts it otherwise)."""
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        """Readiness: the database answers too (a load balancer routes away otherwise)."""
        if await database_ready(request.app.state.engine, settings.database_connect_timeout_s):
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "message": UNAVAILABLE_MESSAGE}, status_code=503,
                            headers={"Retry-After": "30"})

    async def home(request: Request) -> RedirectResponse:
        """The address uvicorn prints: the API (and GraphiQL) live at /graphql. Temporary (307),
        so that no browser remembers it; the query string goes along."""
        query = request.url.query
        return RedirectResponse("/graphql" + (f"?{query}" if query else ""), status_code=307)

    routes = [
        # Every method reaches the view, which answers the ones it does not serve with a coded
        # 405 (Starlette's own would be plain text).
        Route("/graphql", MinegraphGraphQL(settings, schema)),
        Route("/", home, methods=["GET", "HEAD"]),
        Route("/import", ImportEndpoint()),  # every method: it answers the others with a coded 405
        Route("/healthz", health),
        Route("/readyz", ready),
        *export_routes,  # GET /export/mines.xlsx|csv, stats.xlsx|csv, template.xlsx (web/export_http.py)
    ]
    if GRAPHIQL_DIR.is_dir():
        routes.append(Mount("/graphiql-assets", StaticFiles(directory=Path(GRAPHIQL_DIR))))
    # RequestIds first (outermost): the id exists before the token is checked, and whatever
    # escapes below it (the database down during the token check: 503) is answered as JSON.
    # TargetLimit next: a request line past the limit is refused before anything reads the token.
    middleware = [Middleware(RequestIds), Middleware(TargetLimit, limit=settings.max_body_bytes),
                  Middleware(AuthenticationMiddleware, backend=BearerTokenBackend())]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
