"""POST /import: a spreadsheet as a plain multipart form, the way WeChat's wx.uploadFile sends it.

Fields: `file` (the spreadsheet) and `apply` (`true` / `false`, default false). The answer is the
ImportReport as JSON with the GraphQL type's field names and every row; refusals are JSON errors
with a code: 401 without a valid token, 403 for an account that may not import, 413 over
IMPORT_MAX_BYTES, 400 for a file that is not the template (the missing columns named).
The same code path as GraphQL `importMines` and `minegraph import` (resolvers/imports.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from auth.sessions import CurrentUser
from web.http_transport import JSON, BodyTooLarge, bounded, error_response
from models.errors import MinegraphError
from resolvers import imports
from web.context import Context
from schema.types.common import local_time

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "CONFLICT": 409}
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no", ""}


def _refusal(status: int, code: str, message: str) -> Response:
    return error_response(status, code, message, JSON)


def request_context(request: Request) -> Context:
    """The request's Context, as the GraphQL view builds it (caller, scope, fresh loaders)."""
    user = request.user if isinstance(request.user, CurrentUser) else None
    state = request.app.state
    return Context(request, state.engine, state.trees, state.settings, user, request.state.request_id)


class ImportEndpoint:
    """An ASGI app (not a request → response function) so that the body is read through a limit."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _serve(scope, receive, send)


async def _serve(scope: Scope, receive: Receive, send: Send) -> None:
    limit = scope["app"].state.settings.import_max_bytes
    request = Request(scope, receive=bounded(receive, limit))
    try:
        response = await _answer(request, limit)
    except BodyTooLarge:
        response = _too_large(limit)
    except ClientDisconnect:
        return
    await response(scope, receive, send)


def _too_large(limit: int) -> Response:
    return _refusal(413, "BAD_USER_INPUT", f"文件过大 / the request exceeds IMPORT_MAX_BYTES ({limit:,} bytes)")


async def _answer(request: Request, limit: int) -> Response:
    if request.method != "POST":
        return _refusal(405, "BAD_USER_INPUT", "只接受 POST 请求 / send the file by POST")
    ctx = request_context(request)
    if ctx.user is None:
        return _refusal(401, "UNAUTHENTICATED", "请先登录 / log in first: send Authorization: Bearer <token>")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_large(limit)
    if not (request.headers.get("content-type") or "").lower().startswith("multipart/form-data"):
        return _refusal(415, "BAD_USER_INPUT", "请以 multipart/form-data 表单上传，字段 file 为文件 / send a "
                        "multipart/form-data form with the spreadsheet in the field `file`")
    try:
        async with request.form(max_files=1, max_fields=10) as form:
            upload, apply = form.get("file"), str(form.get("apply") or "").strip().lower()
            if not isinstance(upload, UploadFile):
                return _refusal(400, "BAD_USER_INPUT", "表单缺少文件字段 file / the form has no file in the field `file`")
            if apply not in _TRUE | _FALSE:
                return _refusal(400, "BAD_USER_INPUT", f"apply 须为 true 或 false / apply must be true or false "
                                f"(got {apply[:20]!r})")
            outcome = await imports.upload_import(ctx, upload, apply in _TRUE)
    except BodyTooLarge:
        raise
    except MinegraphError as error:
        return _refusal(_STATUS.get(error.code, 400), error.code, error.message)
    except (ValueError, KeyError, HTTPException) as error:  # refusals of a malformed multipart body
        reason = getattr(error, "detail", None) or str(error)
        return _refusal(400, "BAD_USER_INPUT", f"无法读取表单 / malformed multipart form: {str(reason)[:80]}")
    return Response(orjson.dumps(report_json(ctx, outcome)), media_type=JSON + "; charset=utf-8")


def report_json(ctx: Context, outcome: imports.ImportOutcome) -> dict:
    """ImportReport as JSON: the GraphQL type's field names, every row."""
    rows = [{**row, "initialPassword": outcome.passwords.get(row["rowNumber"])} for row in outcome.rows]
    return {"id": str(outcome.id), "applied": outcome.applied,
            **{k: getattr(outcome, k) for k in ("created", "changed", "unchanged", "rejected")},
            "fileName": outcome.file_name, "username": outcome.username,
            "at": local_time(ctx, outcome.at).isoformat(), "rows": rows}
