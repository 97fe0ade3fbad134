"""The ASGI application: HTTP → context (caller, scope, fresh loaders) → schema."""

from __future__ import annotations

import logging
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from strawberry.asgi import GraphQL

from auth.backend import BearerTokenBackend
from auth.users import CurrentUser
from models.db import make_engine
from models.trees import NATION_CODE, load_trees
from resolvers.context import Context
from resolvers.response_cache import ResponseStore
from schema import schema
from settings import ROOT, Settings, get_settings

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

log = logging.getLogger("minegraph")
GRAPHIQL_DIR = ROOT / "static" / "graphiql"


class MinegraphGraphQL(GraphQL):
    def __init__(self, settings: Settings) -> None:
        super().__init__(schema, graphql_ide=None if settings.production else "graphiql")
        self.settings = settings
        mb = settings.response_cache_mb
        self.cache = ResponseStore(mb * 1024 * 1024) if mb > 0 else None

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except ClientDisconnect:
            pass  # the client left mid-request (a phone losing signal): nobody to answer

    async def get_context(self, request: Request, response: Response) -> Context:
        request_id = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        user = request.user if isinstance(request.user, CurrentUser) else None
        state = request.app.state
        return Context(request, state.engine, state.trees, self.settings, user, request_id, self.cache, response)

    async def render_graphql_ide(self, request: Request) -> Response:
        page = GRAPHIQL_DIR / "index.html"
        if page.exists():
            return HTMLResponse(page.read_text(encoding="utf-8"))
        return await super().render_graphql_ide(request)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    if not settings.secret_key:
        settings.secret_key = settings.resolved_secret_key()

    @asynccontextmanager
    async def lifespan(app: Starlette):
        engine = make_engine(settings.database_url)
        trees = await load_trees(engine)
        if NATION_CODE not in trees.regions:
            await engine.dispose()
            raise RuntimeError("the database holds no region tree: run `minegraph seed --demo` first")
        app.state.engine, app.state.trees, app.state.settings = engine, trees, settings
        log.info("serving %d regions, %d mineral types", len(trees.regions), len(trees.minerals))
        yield
        await engine.dispose()

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    routes = [
        Route("/graphql", MinegraphGraphQL(settings), methods=["GET", "POST"]),
        Route("/healthz", health),
    ]
    if GRAPHIQL_DIR.is_dir():
        routes.append(Mount("/graphiql-assets", StaticFiles(directory=Path(GRAPHIQL_DIR))))
    middleware = [Middleware(AuthenticationMiddleware, backend=BearerTokenBackend())]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
