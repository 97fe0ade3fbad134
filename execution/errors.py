"""Give every error an `extensions.code`; mask the unexpected ones.

Domain errors carry their own code; documents that do not parse or validate
get GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED; variables the schema
rejects are BAD_USER_INPUT; anything else is logged with the request id and
answered as INTERNAL, without its details. The schema calls `code_errors` where
Strawberry hands it an operation's errors (schema/build.py): an answer without
errors never comes here.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from graphql.error import GraphQLError

from auth.refusals import record_refusals
from models.db import UNAVAILABLE_MESSAGE, database_unavailable
from models.errors import MinegraphError

if TYPE_CHECKING:
    from strawberry.types import ExecutionContext

log = logging.getLogger("minegraph.errors")
INTERNAL_MESSAGE = "内部错误 / internal error: report the requestId to the operators"


def internal_error(request_id: str | None, message: str = INTERNAL_MESSAGE) -> dict:
    """An error that is not the caller's, as JSON: the generic message and the request id."""
    return {"message": message, "extensions": {"code": "INTERNAL", "requestId": request_id}}


def code_errors(errors: list[GraphQLError], execution: ExecutionContext | None) -> None:
    """Code (or mask) an operation's errors in place, and record its refusals: called by the schema
    (schema/build.py, MinegraphSchema.process_errors) when, and only when, an operation has errors.

    Strawberry 0.341 hands them over at one of three moments: the document did not parse
    (`graphql_document` is None); it did not validate (before Strawberry sets `result`); or it ran
    (`result` holds these very errors; variables the schema rejects are errors of that run, without
    a path). An exception that escaped a hook or the executor comes last, once the operation is
    over: it is masked as it was when only the view's last check caught it."""
    if not errors:
        return
    executed = execution is not None and execution.result is not None and execution.result.errors is errors
    errors[:] = [_coded(error, execution, executed) for error in errors]
    record_refusals(execution.context if execution is not None else None, errors)


def _coded(error: GraphQLError, execution, executed: bool) -> GraphQLError:
    original = error.original_error
    foreign = original is not None and not isinstance(original, GraphQLError)
    if not executed and not error.path and foreign:
        return _masked(error, execution, original)  # escaped a hook or the parser: never the caller's
    if isinstance(original, MinegraphError):
        return _with_code(error, original.code)
    if (error.extensions or {}).get("code"):
        return error  # already coded (e.g. by a permission class)
    if not error.path and not foreign:
        if execution is None or execution.graphql_document is None:
            return _with_code(error, "GRAPHQL_PARSE_FAILED")
        if not executed:
            return _with_code(error, "GRAPHQL_VALIDATION_FAILED")
        return _with_code(_in_chinese_too(error), "BAD_USER_INPUT")  # variables the schema rejects
    if database_unavailable(original):
        request_id = _request_id(execution)
        log.warning("database unavailable [request %s] at %s: %s", request_id, error.path, original)
        masked = internal_error(request_id, UNAVAILABLE_MESSAGE)
        return GraphQLError(masked["message"], nodes=error.nodes, path=error.path, extensions=masked["extensions"])
    return _masked(error, execution, original)


def _masked(error: GraphQLError, execution, original: BaseException | None) -> GraphQLError:
    request_id = _request_id(execution)
    log.error("unexpected error [request %s] at %s", request_id, error.path, exc_info=original or error)
    masked = internal_error(request_id)
    return GraphQLError(masked["message"], nodes=error.nodes, path=error.path, extensions=masked["extensions"])


def _request_id(execution) -> str | None:
    return getattr(getattr(execution, "context", None), "request_id", None)


# graphql-core's words for a request it cannot run (variables, operation name) -> the Chinese a
# person is shown first. Parse and validation messages stay English: they are for developers.
_REJECTIONS = (
    (re.compile(r"Variable '\$(\w+)' of required type '[^']*' was not provided"), "缺少必填变量 ${0}"),
    (re.compile(r"Variable '\$(\w+)' of non-null type '[^']*' must not be null"), "必填变量 ${0} 不能为 null"),
    (re.compile(r"Variable '\$(\w+)' (?:got|has) invalid value"), "变量 ${0} 的值无效"),
    (re.compile(r"Unknown operation named '([^']*)'"), "文档中没有名为 {0} 的操作"),
    (re.compile(r"Must provide operation name"), "文档含多个操作，请用 operationName 指定要执行的一个"),
)


def _in_chinese_too(error: GraphQLError) -> GraphQLError:
    """The error with a Chinese first half: "中文 / graphql-core's English"."""
    chinese = "请求无效，无法执行"
    for pattern, template in _REJECTIONS:
        if found := pattern.match(error.message):
            chinese = template.format(*found.groups())
            break
    error.message = f"{chinese} / {error.message}"
    error.args = (error.message,)
    return error


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    error.extensions = {**(error.extensions or {}), "code": code}
    return error


# Strawberry's HTTP-level refusals (strawberry/http/*base_view.py, as of 0.341) -> Chinese. The
# view answers them as BAD_USER_INPUT JSON; each is something a client can show.
_HTTP_REASONS = (
    (re.compile(r"Unable to parse request body as JSON"), "请求体不是有效的 JSON"),
    (re.compile(r"Batching is not enabled|Too many operations"), "不支持批量请求，请一次只发送一个操作"),
    (re.compile(r'Unknown operation named "([^"]*)"'), "文档中没有名为 {0} 的操作"),
    (re.compile(r"Can't get GraphQL operation type"), "无法确定要执行的操作，请检查 query 与 operationName"),
    (re.compile(r"(\w+) are not allowed when using (\w+)"), "此类操作不能用 {1} 请求发送"),
    (re.compile(r"No GraphQL query found in the request"), "请求中没有 GraphQL 查询"),
    (re.compile(r"Unable to parse the multipart body|File\(s\) missing in form data"), "无法读取表单请求体"),
    (re.compile(r"GraphQL only supports GET and POST requests"), "只接受 GET 和 POST 请求"),
    (re.compile(r"Not Found"), "未找到"),
    (re.compile(r"Unsupported content type"), "不支持的 Content-Type，请使用 application/json"),
    (re.compile(r"The GraphQL operation's `(\w+)` must be (a string|an object)"), "请求中的 {0} 类型不对"),
    # graphql_view.parse_json's own refusal of a body that is JSON but not an object
    (re.compile(r"the request body must be a JSON object"), "请求体必须是含 query（或持久化操作哈希）的 JSON 对象"),
)


def known_http_reason(reason: str) -> str | None:
    """The Chinese for one of Strawberry's HTTP refusals, or None for a reason not listed."""
    for pattern, template in _HTTP_REASONS:
        if found := pattern.match(reason):
            return template.format(*found.groups())
    return None


def bilingual_http_reason(reason: str) -> str:
    """What the view answers for Strawberry's HTTPException: "中文 / its English reason"."""
    return f"{known_http_reason(reason) or '请求无效'} / {reason}"
