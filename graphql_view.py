"""The GraphQL HTTP endpoint: request limits, persisted operations, context, JSON.

Everything refused here is answered as JSON with `errors[].extensions.code`,
never as a bare text page and never as a 500; what escapes unexpectedly is
answered as INTERNAL by request_ids.RequestIds.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import orjson
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse
from strawberry.asgi import GraphQL
from strawberry.exceptions import StrawberryGraphQLError
from cross_web import HTTPException
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from auth.users import CurrentUser
from models.errors import BadUserInput, MinegraphError
from resolvers.context import Context
from resolvers.response_cache import ResponseStore
from schema import build_schema
from schema.caching import stored_answer
from schema.errors import internal_error
from schema.persisted import resolve_document
from settings import ROOT

if TYPE_CHECKING:
    from starlette.responses import Response

    from settings import Settings

log = logging.getLogger("minegraph.errors")
GRAPHIQL_PAGE = ROOT / "static" / "graphiql" / "index.html"
TIMEOUT_MESSAGE = (
    "查询超时 / the query took longer than {s:g} s and was stopped: ask for fewer levels or a narrower "
    "filter, or retry later"
)


class BodyTooLarge(Exception):
    pass


@dataclass
class StoredResult(ExecutionResult):
    """An answer from the response store: `answer` is the JSON of `data`."""

    answer: bytes = b""


def _error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status)


@lru_cache(maxsize=512)
def _is_mutation(query: str, operation_name: str | None) -> bool:
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return False
    return operation is not None and operation.operation is OperationType.MUTATION


def _valid_text(value) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return False  # PostgreSQL stores no NUL in text, and no field of ours needs one
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_valid_text(k) and _valid_text(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_valid_text(v) for v in value)
    return True


class MinegraphGraphQL(GraphQL):
    def __init__(self, settings: Settings) -> None:
        super().__init__(build_schema(settings), graphql_ide=None if settings.production else "graphiql")
        self.settings = settings
        mb = settings.response_cache_mb
        self.cache = ResponseStore(mb * 1024 * 1024) if mb > 0 else None

    async def __call__(self, scope, receive, send) -> None:
        limit = self.settings.max_body_bytes
        declared = dict(scope.get("headers", ())).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large()(scope, receive, send)
            return
        received = 0

        async def bounded_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        try:
            response = await self.run(Request(scope, receive=bounded_receive))
        except ClientDisconnect:
            return  # the client left mid-request (a phone losing signal): nobody to answer
        except BodyTooLarge:
            response = self._too_large()
        except HTTPException as error:
            response = _error_response(error.status_code, "BAD_USER_INPUT", error.reason)
        except MinegraphError as error:
            response = _error_response(400, error.code, error.message)
        await response(scope, receive, send)

    def _too_large(self) -> JSONResponse:
        return _error_response(
            413, "BAD_USER_INPUT", f"请求过大 / the request body exceeds {self.settings.max_body_bytes:,} bytes"
        )

    async def parse_http_body(self, request):
        data = await super().parse_http_body(request)
        if isinstance(data, list):
            return data  # refused by Strawberry: batching is off
        if not _valid_text((data.query, data.variables, data.operation_name, data.extensions)):
            # JSON can carry lone surrogates ("\ud800"); no database or log can store them.
            raise BadUserInput("请求含有无效字符 / the request holds text no field accepts (a NUL or a lone surrogate)")
        data.query = resolve_document(data.query, data.extensions, self.settings.production)
        return data

    async def execute_operation(self, request, request_adapter, request_data, context, root_value, sub_response):
        if isinstance(request_data, GraphQLRequestData):  # a repeated query: its stored answer as it is
            answer = stored_answer(context, request_data.query, request_data.operation_name, request_data.variables)
            if answer is not None:
                return StoredResult(data=None, errors=None, answer=answer)
        run = super().execute_operation(request, request_adapter, request_data, context, root_value, sub_response)
        query = getattr(request_data, "query", None)
        if not query or _is_mutation(query, request_data.operation_name):
            return await run  # a write is never cut off halfway through its commit
        try:
            async with asyncio.timeout(self.settings.request_timeout_s):
                return await run
        except TimeoutError:
            message = TIMEOUT_MESSAGE.format(s=self.settings.request_timeout_s)
            return ExecutionResult(data=None, errors=[StrawberryGraphQLError(message, extensions={"code": "RATE_LIMITED"})])

    async def process_result(self, request: Request, result):
        if isinstance(result, StoredResult):
            return {"data": orjson.Fragment(result.answer)}  # written out by orjson unparsed
        data = await super().process_result(request, result)
        # The last line of defence: an error that escaped the ErrorCodes extension
        # (e.g. raised inside another extension's hook) is logged and masked.
        for error in data.get("errors") or ():
            if not (error.get("extensions") or {}).get("code"):
                request_id = request.state.request_id
                log.error("uncoded error escaped the schema [request %s]: %s", request_id, error.get("message"))
                error.clear()
                error.update(internal_error(request_id))
        return data

    async def get_context(self, request: Request, response: Response) -> Context:
        user = request.user if isinstance(request.user, CurrentUser) else None
        state = request.app.state
        request_id = request.state.request_id  # decided (and sent back) by request_ids.RequestIds
        return Context(request, state.engine, state.trees, self.settings, user, request_id, self.cache, response)

    async def render_graphql_ide(self, request: Request) -> Response:
        if GRAPHIQL_PAGE.exists():
            return HTMLResponse(GRAPHIQL_PAGE.read_text(encoding="utf-8"))
        return await super().render_graphql_ide(request)

    def parse_json(self, data: str | bytes) -> object:
        parsed = super().parse_json(data)
        if not isinstance(parsed, (dict, list)):
            raise HTTPException(400, "the request body must be a JSON object with a `query` (or a persisted hash)")
        return parsed

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses what Python's json would choke on later (NaN, integers past
        # 64 bits, lone surrogates) with a JSONDecodeError, which Strawberry answers 400.
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        try:
            return orjson.dumps(data)
        except orjson.JSONEncodeError:
            # An answer echoing what orjson refuses (a lone surrogate, a huge integer):
            # the standard library escapes it instead.
            return json.dumps(data, separators=(",", ":")).encode()

