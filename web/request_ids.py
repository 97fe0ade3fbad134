"""Each HTTP request's id, decided once, and the answer when something unexpected escapes.

The id is the caller's `X-Request-ID` (cut to 64 characters, the audit column's size) or a new
uuid4. It is kept in `scope["state"]` (`request.state.request_id`) before the token is checked,
so every error path can name it, and it goes back in the `X-Request-ID` header of every answer.
An exception that escapes the application (a bug in the token check, in building the context,
in a stored answer...) is logged with the id and answered as a JSON GraphQL error `INTERNAL`
with `extensions.requestId` and no `data` (http_transport.error_response): HTTP 500 with the generic message, or 503 with `Retry-After` and the
database message when the database is down. Never a bare 500 page, never the exception's text.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from web.http_transport import error_response, negotiate
from models.db import UNAVAILABLE_MESSAGE, database_unavailable
from execution.errors import INTERNAL_MESSAGE

if TYPE_CHECKING:
    from starlette.responses import Response
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("minegraph")
MAX_LENGTH = 64  # the audit log's request_id column


class RequestIds:
    """Pure ASGI (no BaseHTTPMiddleware): outermost but Starlette's own error page."""

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
