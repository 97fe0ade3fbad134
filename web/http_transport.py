"""GraphQL over HTTP, to the letter of the spec's current draft: what a request must look like
before any GraphQL runs, which media type and status answer it, and the request errors; and the
edge every request passes first (its id, the request-target limit, the answer when something
escapes), which answers in the same media types with the same `error_response`.

web/graphql_view.py applies these rules. docs/api.md ("HTTP transport") describes them for client
authors.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import orjson
from graphql import BREAK, GraphQLError, OperationDefinitionNode, OperationType, Visitor, visit
from starlette.datastructures import Headers
from starlette.responses import Response

from execution.documents import parsed
from execution.errors import INTERNAL_MESSAGE
from models.db import UNAVAILABLE_MESSAGE, database_unavailable

if TYPE_CHECKING:
    from collections.abc import Mapping

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("minegraph")
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
CHARSET = "; charset=utf-8"  # every answer is UTF-8, and says so (the spec's MUST)
# The request errors graphql-core raises while choosing the operation: its words after the Chinese
# (a client may show them to a person, unlike parse and validation errors).
MULTIPLE_OPERATIONS = ("文档含多个操作，请用 operationName 指明执行哪一个 / "
                       "Must provide operation name if query contains multiple operations.")
UNKNOWN_OPERATION = "文档中没有名为 '{name}' 的操作 / Unknown operation named '{name}'."


class RequestError(Exception):
    """A request refused before execution: answered without `data`, with `code`.

    `status` is the HTTP status; `json_status` the one for clients that accept only
    application/json, where a well-formed request that GraphQL refuses is still a 200.
    """

    def __init__(self, message: str, *, status: int = 400, json_status: int | None = None,
                 code: str = "BAD_USER_INPUT", headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code
        self.json_status = status if json_status is None else json_status
        self.headers = dict(headers or {})

    def response(self, media_type: str | None) -> Response:
        status = self.status if media_type == GRAPHQL_RESPONSE else self.json_status
        return error_response(status, self.code, self.message, media_type, self.headers)


def error_response(status: int, code: str, message: str, media_type: str | None = None,
                   headers: Mapping[str, str] | None = None, extensions: Mapping | None = None) -> Response:
    """A GraphQL response with one error and no `data` (nothing was executed)."""
    body = {"errors": [{"message": message, "extensions": {"code": code, **(extensions or {})}}]}
    return Response(orjson.dumps(body), status, headers=dict(headers or {}),
                    media_type=(media_type or JSON) + CHARSET)


# --------------------------------------------------------------------------- Accept


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in, or None when Accept names nothing this server writes (406).

    No Accept (or an empty one) means application/json, as the spec asks; `*/*` and
    `application/*` get application/json too (what every client reads); between the two
    named types the higher q wins, application/graphql-response+json on a tie.
    """
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int] | None = None
    chosen = None
    for part in accept.split(","):
        media, _, params = part.partition(";")
        media = media.strip().lower()
        q = _quality(params)
        if q <= 0:
            continue
        rank = {GRAPHQL_RESPONSE: 3, JSON: 2, "application/*": 1, "*/*": 1}.get(media)
        if rank is None:
            continue
        if best is None or (q, rank) > best:
            best, chosen = (q, rank), GRAPHQL_RESPONSE if media == GRAPHQL_RESPONSE else JSON
    return chosen


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value.strip())))
            except ValueError:
                return 0.0  # a malformed weight: not a preference we can honour
    return 1.0


# --------------------------------------------------------------------------- the request envelope


@dataclass(frozen=True)
class Envelope:
    query: str | None
    operation_name: str | None
    variables: dict | None
    extensions: dict | None


def _member(data: dict, key: str, kind: type, what: str) -> object:
    value = data.get(key)
    if value is None or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    raise RequestError(f"请求参数 {key} 的类型不对 / `{key}` must be {what} or null, not {_json_type(value)}")


def _json_type(value: object) -> str:
    for kind, name in ((bool, "a boolean"), (str, "a string"), (int, "a number"), (float, "a number"),
                       (list, "an array"), (dict, "an object")):
        if isinstance(value, kind):
            return name
    return "null"


def envelope(data: object) -> Envelope:
    """The four members of a GraphQL-over-HTTP request, each of the type the spec allows."""
    if isinstance(data, list):
        raise RequestError("不支持批量请求 / batching is off: send one operation per request")
    if not isinstance(data, dict):
        raise RequestError(
            f"请求体须为 JSON 对象 / the request must be a JSON object with a `query` (or a persisted hash), "
            f"not {_json_type(data)}")
    return Envelope(_member(data, "query", str, "a string"), _member(data, "operationName", str, "a string"),
                    _member(data, "variables", dict, "an object"), _member(data, "extensions", dict, "an object"))


# --------------------------------------------------------------------------- choosing the operation


EMPTY_SELECTION = 'Syntax Error: Expected Name, found "}".'


class _EmptySelection(Visitor):
    found = False

    def enter_selection_set(self, node, *_args):
        if not node.selections:
            self.found = True
            return BREAK
        return None


@lru_cache(maxsize=512)
def _operations(query: str, max_tokens: int) -> tuple[tuple[str | None, OperationType], ...] | None:
    """(name, type) of each operation in the document; None when it does not parse (the schema
    then reports the syntax error as usual). The document is the schema's too (`parsed`)."""
    try:
        document = parsed(query, max_tokens)
    except GraphQLError:
        return None
    # The spec's grammar wants a selection in every `{ }`; graphql-core 3.3 parses `{}`, on which
    # Strawberry's depth limiter then raised (an INTERNAL 500-class answer): refused as a syntax error.
    empty = _EmptySelection()
    visit(document, empty)
    if empty.found:
        raise RequestError(EMPTY_SELECTION, json_status=200, code="GRAPHQL_PARSE_FAILED")
    return tuple((d.name.value if d.name else None, d.operation)
                 for d in document.definitions if isinstance(d, OperationDefinitionNode))


def operation_type(query: str, operation_name: str | None, max_tokens: int) -> OperationType | None:
    """The type of the operation the request selects, or a RequestError: several operations and no
    operationName (Strawberry would run the first one, even a mutation), or an unknown name.
    None when the document does not parse or holds no operation (validation says why)."""
    operations = _operations(query, max_tokens)
    if not operations:
        return None
    if operation_name is None:
        if len(operations) > 1:
            raise RequestError(MULTIPLE_OPERATIONS, json_status=200)
        return operations[0][1]
    for name, kind in operations:
        if name == operation_name:
            return kind
    raise RequestError(UNKNOWN_OPERATION.format(name=operation_name), json_status=200)


# --------------------------------------------------------------------------- the request id


MAX_LENGTH = 64  # the audit log's request_id column


class RequestIds:
    """Each request's id, decided once, and the answer when something unexpected escapes.

    The id is the caller's `X-Request-ID` (cut to 64 characters, the audit column's size) or a new
    uuid4, kept in `scope["state"]` (`request.state.request_id`) before the token is checked, so
    every error path can name it; it goes back in the `X-Request-ID` header of every answer. An
    exception that escapes the application (a bug in the token check, in building the context, in
    a stored answer...) is logged with the id and answered as a GraphQL error `INTERNAL` with
    `extensions.requestId` and no `data`: 500 with the generic message, or 503 with `Retry-After`
    and the database message when the database is down; never a bare 500 page or the exception's
    text. Pure ASGI (no BaseHTTPMiddleware): outermost but Starlette's own error page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == b"x-request-id"), b"")
        request_id = given.decode("latin-1")[:MAX_LENGTH] or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        header = (b"x-request-id", request_id.encode("latin-1"))
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if started:
                raise  # part of an answer is out: only the server can end it now
            accept = next((value for name, value in scope["headers"] if name == b"accept"), b"")
            await _failure(error, request_id, accept.decode("latin-1"))(scope, receive, send_with_id)


def _failure(error: Exception, request_id: str, accept: str | None) -> Response:
    # Nothing was executed (or what was is lost): no `data`, in the media type the client accepts.
    media = negotiate(accept)
    if database_unavailable(error):  # e.g. while checking the token: retry later, elsewhere
        log.warning("database unavailable [request %s]: %s", request_id, error)
        return error_response(503, "INTERNAL", UNAVAILABLE_MESSAGE, media, {"Retry-After": "30"},
                              {"requestId": request_id})
    log.error("unexpected error [request %s]", request_id, exc_info=error)
    return error_response(500, "INTERNAL", INTERNAL_MESSAGE, media, extensions={"requestId": request_id})


# --------------------------------------------------------------------------- the request target


class TargetLimit:
    """Refuse a request line longer than the body limit with 414 and a code: a GET carries its
    document in the address, and one past the limit must go by POST, where 413 applies.
    (uvicorn's parser is set to let such a line through to here: serving.parser_limit.)"""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = len(scope.get("raw_path") or scope["path"].encode()) + 1 + len(scope.get("query_string", b""))
            if length > self.limit:
                media = negotiate(Headers(scope=scope).get("accept")) or JSON
                message = (f"请求地址过长 / the request URI exceeds {self.limit:,} bytes: "
                           "send the query in a POST body")
                await error_response(414, "BAD_USER_INPUT", message, media)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    """The body read so far passed the limit (`bounded`)."""


def bounded(receive: Receive, limit: int) -> Receive:
    """`receive` that raises BodyTooLarge once more than `limit` body bytes have come: a request
    that lies about its Content-Length (or sends none, chunked) is cut off while it is read."""
    received = 0

    async def bounded_receive():
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise BodyTooLarge
        return message

    return bounded_receive

