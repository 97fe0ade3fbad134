"""The GraphQL HTTP endpoint: request limits, the request's document (execution/documents.py:
as sent, or a persisted operation by hash), context, JSON.

Everything refused here is answered as JSON with `errors[].extensions.code`,
never as a bare text page and never as a 500; what escapes unexpectedly is
answered as INTERNAL by http_transport.RequestIds. The transport's rules (Accept,
status codes, the request envelope, choosing the operation) are web/http_transport.py's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import orjson
from cross_web import HTTPException
from graphql import OperationType
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse
from strawberry.asgi import GraphQL
from strawberry.exceptions import StrawberryGraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from auth.sessions import TokenCredentials
from auth.sessions import CurrentUser
from web.http_transport import (
    CHARSET, GRAPHQL_RESPONSE, JSON, BodyTooLarge, RequestError, bounded, envelope, error_response, negotiate,
    operation_type,
)
from models.errors import BadUserInput, MinegraphError
from web.context import Context
from cache.lookup import ResponseCache
from execution.documents import resolve_document
from execution.errors import bilingual_http_reason, internal_error
from settings import ROOT

if TYPE_CHECKING:
    from starlette.responses import Response

    from schema.build import MinegraphSchema
    from settings import Settings

log = logging.getLogger("minegraph.errors")
GRAPHIQL_PAGE = ROOT / "static" / "graphiql" / "index.html"
TIMEOUT_MESSAGE = (
    "查询超时 / the query took longer than {s:g} s and was stopped: ask for fewer levels or a narrower "
    "filter, or retry later"
)
# Strawberry's own refusals that can still reach a client, in the house's two languages.
# "Not Found": a browser asking for the IDE in production (saying why would name it).
@dataclass
class StoredResult(ExecutionResult):
    """An answer from (or just put into) the response store: `answer` is the JSON of `data`."""

    answer: bytes = b""


@dataclass
class TimedOut(ExecutionResult):
    """A query stopped by the time limit: execution had begun, so `data` stays (null)."""


def _before_execution(result: ExecutionResult) -> bool:
    """True when the errors were raised before execution began (parse, validation, variable
    coercion, an extension refusing the document): the answer then has no `data` at all
    (GraphQL spec, "Response"). Errors during execution carry the path of their field."""
    if isinstance(result, (StoredResult, TimedOut)):
        return False
    if isinstance(result, PreExecutionError):
        return True
    return result.data is None and bool(result.errors) and all(not error.path for error in result.errors)


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


def _is_multipart(content_type: str | None) -> bool:
    return (content_type or "").lower().startswith("multipart/form-data")


class MinegraphGraphQL(GraphQL):
    def __init__(self, settings: Settings, schema: MinegraphSchema) -> None:
        super().__init__(schema, graphql_ide=None if settings.production else "graphiql")
        self.settings = settings
        self.production = settings.production
        mb = settings.response_cache_mb
        self.cache = ResponseCache(mb * 1024 * 1024, settings.max_query_tokens) if mb > 0 else None

    async def __call__(self, scope, receive, send) -> None:
        headers = Headers(scope=scope)
        media = negotiate(headers.get("accept"))
        try:
            self._admit(scope, headers, media)
        except RequestError as error:
            await error.response(media)(scope, receive, send)
            return
        limit = self._body_limit(headers)
        request = Request(scope, receive=bounded(receive, limit))
        try:
            response = await self.run(request)
        except ClientDisconnect:
            return  # the client left mid-request (a phone losing signal): nobody to answer
        except BodyTooLarge:
            response = self._too_large(limit).response(media)
        except RequestError as error:
            response = error.response(media)
        except HTTPException as error:  # Strawberry's own refusals (GraphiQL off in production: 404)
            code = "NOT_FOUND" if error.status_code == 404 else "BAD_USER_INPUT"
            response = error_response(error.status_code, code, bilingual_http_reason(error.reason), media)
        except MinegraphError as error:
            response = error_response(400, error.code, error.message, media, extensions=error.extensions)
        else:
            if getattr(request.state, "graphql_answer", False):  # not the GraphiQL page
                response.headers["content-type"] = (media or JSON) + CHARSET
                if media == GRAPHQL_RESPONSE and getattr(request.state, "before_execution", False):
                    response.status_code = 400
        await response(scope, receive, send)

    def _admit(self, scope, headers: Headers, media: str | None) -> None:
        """Refusals decided by the request line and headers alone, before the body is read."""
        if scope["method"] not in ("GET", "POST"):
            raise RequestError(f"不支持 {scope['method']} 方法 / GraphQL is served over GET and POST only",
                               status=405, headers={"Allow": "GET, POST"})
        if media is None and not self._wants_graphiql(scope, headers):
            raise RequestError(
                "无法提供所要求的格式 / none of the media types in Accept can be served: accept "
                f"{GRAPHQL_RESPONSE} or {JSON}", status=406)
        declared = headers.get("content-length", "0")
        if declared.isdigit() and int(declared) > self._body_limit(headers):
            raise self._too_large(self._body_limit(headers))

    def _body_limit(self, headers: Headers) -> int:
        """A multipart request carries a spreadsheet (importMines): IMPORT_MAX_BYTES; others MAX_BODY_BYTES."""
        if _is_multipart(headers.get("content-type")):
            return self.settings.import_max_bytes
        return self.settings.max_body_bytes

    def should_render_graphql_ide(self, request) -> bool:
        # Only for browsers (Accept: text/html); Strawberry's */* sent curl and fetch() an HTML page.
        return request.method == "GET" and request.query_params.get("query") is None and (
            "text/html" in request.headers.get("accept", ""))

    @staticmethod
    def _wants_graphiql(scope, headers: Headers) -> bool:
        # A browser asking for the page (Strawberry renders it, or answers 404 in production).
        return scope["method"] == "GET" and b"query=" not in scope.get("query_string", b"") and (
            "text/html" in headers.get("accept", ""))

    def _too_large(self, limit: int | None = None) -> RequestError:
        limit = limit or self.settings.max_body_bytes
        return RequestError(f"请求过大 / the request body exceeds {limit:,} bytes", status=413)

    async def parse_http_body(self, request):
        if request.method == "GET":
            raw = self._query_params(request.query_params)
        else:
            content_type, _ = parse_content_type(request.content_type or "")
            if _is_multipart(content_type):
                raw = await self._multipart(request)
            elif content_type.lower() != JSON:
                raise RequestError(f"请求体须为 JSON（上传文件用 multipart/form-data） / send the request as "
                                   f"Content-Type: {JSON} (a file upload as multipart/form-data)", status=415)
            else:
                raw = self.parse_json(await request.get_body())
        data = envelope(raw)
        if not _valid_text((data.query, data.variables, data.operation_name, data.extensions)):
            # JSON can carry lone surrogates ("\ud800"); no database or log can store them.
            raise BadUserInput("请求含有无效字符 / the request holds text no field accepts (a NUL or a lone surrogate)")
        query = resolve_document(data.query, data.extensions, self.production)
        if not query:
            raise RequestError("请求缺少 query / the request has no `query` (nor extensions.persistedQuery)")
        return GraphQLRequestData(query=query, variables=data.variables, operation_name=data.operation_name,
                                  extensions=data.extensions)

    async def _multipart(self, request) -> object:
        """The GraphQL multipart request (operations, map, files): Strawberry's own reading, with every
        malformed part answered 400 with a code. No cookie authenticates here, so a cross-site form
        cannot act for anyone (the token travels in the Authorization header only)."""
        try:
            return await self.parse_multipart(request)
        except HTTPException:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, StarletteHTTPException) as error:
            raise RequestError("表单请求格式错误 / malformed multipart request: send the fields operations, "
                               "map and the files the map names") from error

    def _query_params(self, params) -> dict:
        data = dict(params)
        for key in ("variables", "extensions"):
            if data.get(key):  # an empty parameter is an absent one
                data[key] = self.parse_json(data[key])  # must be an object: envelope() checks
            else:
                data.pop(key, None)
        return data

    async def execute_operation(self, request, request_adapter, request_data, context, root_value, sub_response):
        kind = operation_type(request_data.query, request_data.operation_name, self.settings.max_query_tokens)
        if kind is OperationType.MUTATION and request_adapter.method == "GET":
            raise RequestError("GET 请求不能执行变更 / mutations are not allowed over GET: send them in a POST",
                               status=405, headers={"Allow": "POST"})
        if kind is OperationType.SUBSCRIPTION:
            raise RequestError("本服务不提供订阅 / subscriptions are not served over HTTP here")
        run = partial(super().execute_operation, request, request_adapter, request_data, context, root_value,
                      sub_response)
        if kind is OperationType.MUTATION:
            return await run()  # a write is never cut off halfway through its commit
        try:
            async with asyncio.timeout(self.settings.request_timeout_s):
                if self.cache is None:
                    return await run()
                found = await self.cache.answer(context, request_data, run)  # cache/lookup.py
                return StoredResult(data=None, errors=None, answer=found) if isinstance(found, bytes) else found
        except TimeoutError:
            message = TIMEOUT_MESSAGE.format(s=self.settings.request_timeout_s)
            return TimedOut(data=None, errors=[StrawberryGraphQLError(message, extensions={"code": "RATE_LIMITED"})])

    async def process_result(self, request: Request, result):
        request.state.graphql_answer = True
        if isinstance(result, StoredResult):
            return {"data": orjson.Fragment(result.answer)}  # written out by orjson unparsed
        data = await super().process_result(request, result)
        # The last line of defence: an error the schema's coding (execution/errors.py, called from
        # MinegraphSchema.process_errors) did not reach is logged and masked.
        for error in data.get("errors") or ():
            if not (error.get("extensions") or {}).get("code"):
                request_id = request.state.request_id
                log.error("uncoded error escaped the schema [request %s]: %s", request_id, error.get("message"))
                error.clear()
                error.update(internal_error(request_id))
        if _before_execution(result):
            del data["data"]
            request.state.before_execution = True
        return data

    async def get_context(self, request: Request, response: Response) -> Context:
        user = request.user if isinstance(request.user, CurrentUser) else None
        # Read in the same statement as the token (auth/sessions.py); None for an anonymous caller.
        version = request.auth.data_version if isinstance(request.auth, TokenCredentials) else None
        state = request.app.state
        request_id = request.state.request_id  # decided (and sent back) by http_transport.RequestIds
        return Context(request, state.engine, state.trees, self.settings, user, request_id, version, response)

    async def render_graphql_ide(self, request: Request) -> Response:
        if GRAPHIQL_PAGE.exists():
            return HTMLResponse(GRAPHIQL_PAGE.read_text(encoding="utf-8"))
        return await super().render_graphql_ide(request)

    def parse_json(self, data: str | bytes) -> object:
        # orjson refuses what Python's json would choke on later (NaN, integers past
        # 64 bits, lone surrogates, bytes that are not UTF-8).
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            raise RequestError("请求不是有效的 JSON / the request (or its variables or extensions) is not valid JSON"
                               ) from None

    def encode_json(self, data: object) -> bytes:
        try:
            return orjson.dumps(data)
        except orjson.JSONEncodeError:
            # An answer echoing what orjson refuses (a lone surrogate, a huge integer):
            # the standard library escapes it instead.
            return json.dumps(data, separators=(",", ":")).encode()

