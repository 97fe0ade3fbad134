"""GET /export/*: the caller's mines and statistics as XLSX or CSV, and the blank import template.

HTTP → caller (the Bearer token through auth/sessions.py, as for /graphql, or a signed link from
`exportLink`: auth/export_links.py) → parameters (regionCode, filter, depth: validated like the
API's, so a region outside the scope is NOT_FOUND exactly as an unknown one) → resolvers/exports.py
and export_stats.py (statements through jurisdiction()) → spreadsheets/writing.py → the answer.
Every refusal is JSON with `errors[].extensions.code`, before any byte of the file.

CSV streams as it is produced (the header before the first statement). XLSX is a zip whose
directory comes last, so nothing can be sent before the workbook is complete: it is written
page by page in constant memory to a temporary file, off the event loop, then streamed.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

import anyio
import orjson
from graphql import coerce_input_value, validate_input_value
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from auth.export_links import user_for_link
from auth.sessions import CurrentUser
from web.http_transport import error_response
from models.errors import BadUserInput, MinegraphError, NotFound, Unauthenticated, quoted
from resolvers.export_stats import parse_depth, stats_header, stats_rows
from resolvers.exports import EXPORT_PATHS, mine_rows
from resolvers.filters import parse_filter
from spreadsheets.columns import COLUMNS
from spreadsheets.writing import csv_head, csv_text, mines_xlsx_writer, write_template, write_xlsx

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

    from auth.scope import Scope
    from models.trees import RegionNode
    from resolvers.filters import FilterSpec

log = logging.getLogger("minegraph.errors")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
CHUNK = 256 * 1024
# Which parameters each export reads; anything else (a typo, a token) is refused, not ignored.
_PARAMS = {"mines": {"regionCode", "filter"}, "stats": {"regionCode", "filter", "depth"}, "template": set()}
_LINK_PARAMS = {"acct", "exp", "sig"}
TOKEN_IN_URL = ("请勿在下载地址中放会话令牌 / never put the session token in an address: send "
                "`Authorization: Bearer <token>`, or download through a link from exportLink")
LOG_IN = ("请先登录 / log in first: send `Authorization: Bearer <token>`, or download through a link "
          "from exportLink")
BAD_LINK = "下载链接无效或已过期 / the download link is invalid or has expired: ask exportLink for a new one"


# --------------------------------------------------------------------------- the caller and the parameters


async def _caller(request: Request) -> CurrentUser:
    params = request.query_params
    if "token" in params or "access_token" in params:
        raise Unauthenticated(TOKEN_IN_URL)
    if "sig" in params:
        state = request.app.state
        user = await user_for_link(state.engine, state.settings, request.url.path, params.multi_items())
        if user is None:
            raise Unauthenticated(BAD_LINK)
        return user
    if isinstance(request.user, CurrentUser):
        return request.user
    raise Unauthenticated(LOG_IN)


def _check_names(request: Request, what: str) -> None:
    known = _PARAMS[what] | _LINK_PARAMS
    for name, _value in request.query_params.multi_items():
        if name not in known:
            raise BadUserInput(f"未知参数 {quoted(name)} / unknown parameter {quoted(name)}: "
                               f"{what} takes {', '.join(sorted(_PARAMS[what])) or 'none'}")
    for name in _PARAMS[what]:
        if len(request.query_params.getlist(name)) > 1:
            raise BadUserInput(f"参数 {name} 只能给一次 / give {name} once")


def mine_filter(text: str | None, scope: Scope, trees, filter_type) -> FilterSpec:
    """The `filter` parameter: a MineFilter as JSON, with the GraphQL field and enum names,
    coerced by the served schema's own input type (`filter_type`) and validated by the API's parse_filter."""
    if text is None or text == "":
        return parse_filter(None, scope, trees)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadUserInput("筛选参数 filter 不是有效的 JSON / the filter parameter is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadUserInput("筛选参数 filter 必须是 JSON 对象 / the filter parameter must be a JSON object (a MineFilter)")
    problems: list[str] = []
    validate_input_value(value, filter_type, lambda error, path: problems.append(
        f"{'.'.join(map(str, path))}: {error.message}" if path else error.message))
    if problems:
        raise BadUserInput(f"筛选参数 filter 无效 / invalid filter: {'; '.join(problems[:5])}")
    return parse_filter(coerce_input_value(value, filter_type), scope, trees)


def _region(request: Request, scope: Scope) -> RegionNode:
    """The `regionCode` parameter's region, else the caller's root; NOT_FOUND outside the scope."""
    trees = request.app.state.trees
    code = request.query_params.get("regionCode")
    if code is None or code == "":
        return trees.regions[scope.region_code]
    node = trees.regions.get(code)
    if node is None or not scope.covers(node):
        raise NotFound(f"未找到行政区划 {quoted(code)} / region {quoted(code)} not found")
    return node


def _disposition(stem_zh: str, stem_ascii: str, region: RegionNode | None, suffix: str, timezone: str) -> str:
    """attachment with an ASCII filename and the Chinese one as RFC 5987 filename*."""
    day = datetime.now(ZoneInfo(timezone)).strftime("%Y%m%d")
    chinese = "-".join(p for p in (stem_zh, region.name if region else None, day) if p) + suffix
    ascii_name = "-".join(p for p in (stem_ascii, region.code if region else None, day) if p) + suffix
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(chinese, safe='')}"


def _headers(disposition: str) -> dict[str, str]:
    # The files hold personal data (names, phone numbers): no cache keeps a copy.
    return {"Content-Disposition": disposition, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


# --------------------------------------------------------------------------- the endpoints


async def export_mines(request: Request, form: str) -> Response:
    user = await _caller(request)  # who asks, before what is asked
    _check_names(request, "mines")
    state, scope = request.app.state, user.scope
    region = _region(request, scope)
    spec = mine_filter(request.query_params.get("filter"), scope, state.trees, state.filter_type)
    if request.query_params.get("regionCode"):
        spec = spec.within(region.code)
    pages = mine_rows(state.engine, scope, spec, state.trees, state.settings)
    headers = _headers(_disposition("矿山", "mines", region, f".{form}", state.settings.timezone))
    if form == "csv":
        return StreamingResponse(_csv_stream([c.label for c in COLUMNS], pages), media_type=CSV, headers=headers)
    path = await _mines_workbook(pages)
    return _file_response(path, XLSX, headers)


async def _csv_stream(header: list[str], pages: AsyncIterator[list[list]]) -> AsyncIterator[bytes]:
    yield csv_head(header)
    try:
        async for rows in pages:
            yield csv_text(rows).encode("utf-8")
    except Exception:
        # The status line is out: the connection is cut short (no final chunk), never a file
        # that looks complete. Logged like any unexpected failure.
        log.exception("export stopped while streaming")
        raise


async def _mines_workbook(pages: AsyncIterator[list[list]]) -> str:
    handle, path = tempfile.mkstemp(prefix="minegraph-export-", suffix=".xlsx")
    os.close(handle)
    try:
        writer = await anyio.to_thread.run_sync(mines_xlsx_writer, path)
        async for rows in pages:
            await anyio.to_thread.run_sync(writer.write_rows, rows)
        await anyio.to_thread.run_sync(writer.close)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _file_response(path: str, media_type: str, headers: dict[str, str]) -> Response:
    """Stream a finished temporary file and remove it: unlinked once open, so that a client
    that goes away midway leaves nothing behind (the open handle keeps it readable)."""
    file = open(path, "rb")  # noqa: SIM115 - closed by the stream below
    os.unlink(path)
    size = os.fstat(file.fileno()).st_size

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := await anyio.to_thread.run_sync(file.read, CHUNK):
                yield chunk
        finally:
            file.close()

    return StreamingResponse(chunks(), media_type=media_type, headers={**headers, "Content-Length": str(size)})


async def export_stats(request: Request, form: str) -> Response:
    user = await _caller(request)  # who asks, before what is asked
    _check_names(request, "stats")
    state, scope = request.app.state, user.scope
    root = _region(request, scope)
    depth = parse_depth(request.query_params.get("depth"))
    spec = mine_filter(request.query_params.get("filter"), scope, state.trees, state.filter_type)
    rows = await stats_rows(state.engine, scope, spec, state.trees, state.settings, root, depth)
    header = stats_header(state.trees)
    headers = _headers(_disposition("统计", "stats", root, f".{form}", state.settings.timezone))
    if form == "csv":
        return Response(csv_head(header) + csv_text(rows).encode("utf-8"), media_type=CSV, headers=headers)
    body = await anyio.to_thread.run_sync(_workbook_bytes, partial(write_xlsx, header=header, rows=rows, sheet="统计"))
    return Response(body, media_type=XLSX, headers=headers)


_TEMPLATE: list[bytes] = []  # built once per process: it depends on nothing but the code


async def export_template(request: Request) -> Response:
    await _caller(request)  # one rule for every /export/* route (docs/api.md, "Export")
    _check_names(request, "template")
    if not _TEMPLATE:
        _TEMPLATE.append(await anyio.to_thread.run_sync(_workbook_bytes, write_template))
    headers = _headers(_disposition("矿山导入模板", "mine-template", None, ".xlsx", request.app.state.settings.timezone))
    return Response(_TEMPLATE[0], media_type=XLSX, headers=headers)


def _workbook_bytes(write) -> bytes:
    with tempfile.TemporaryDirectory(prefix="minegraph-export-") as directory:
        path = os.path.join(directory, "book.xlsx")
        write(path)
        with open(path, "rb") as file:
            return file.read()


def _answering(endpoint):
    """GET only; a refusal as JSON with its code (401, 400, 404), never a page."""
    async def answer(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return error_response(405, "BAD_USER_INPUT", "只接受 GET 请求 / only GET is served here",
                                  headers={"Allow": "GET, HEAD"})
        try:
            return await endpoint(request)
        except MinegraphError as error:
            status = _STATUS.get(error.code, 400)
            return error_response(status, error.code, str(error))
    return answer


_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "BAD_USER_INPUT": 400}


async def _unknown(request: Request) -> Response:
    return error_response(404, "NOT_FOUND", f"未找到 {quoted(request.url.path)} / no export at {quoted(request.url.path)}")


ENDPOINTS = {
    "MINES_XLSX": partial(export_mines, form="xlsx"),
    "MINES_CSV": partial(export_mines, form="csv"),
    "STATS_XLSX": partial(export_stats, form="xlsx"),
    "STATS_CSV": partial(export_stats, form="csv"),
    "TEMPLATE": export_template,
}
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
routes = [
    *(Route(EXPORT_PATHS[kind], _answering(endpoint), methods=ALL_METHODS) for kind, endpoint in ENDPOINTS.items()),
    Route("/export/{rest:path}", _answering(_unknown), methods=ALL_METHODS),
]
