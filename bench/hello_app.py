"""The bare Strawberry "hello" endpoint: the ceiling of this stack on this machine.

Starlette + strawberry.asgi.GraphQL + orjson on uvicorn, exactly as minegraph is served,
with one field and nothing else (no auth middleware, no database).

Run: uvicorn bench.hello_app:create_app --factory
"""

from __future__ import annotations

import orjson
import strawberry
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


class HelloGraphQL(GraphQL):
    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def create_app() -> Starlette:
    async def health(_request):
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/graphql", HelloGraphQL(strawberry.Schema(query=Query)), methods=["GET", "POST"]),
                             Route("/healthz", health)])
