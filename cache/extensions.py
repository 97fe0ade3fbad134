"""Caching extensions: parsed documents, and whole answers per scope and data version."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import lru_cache
from typing import TYPE_CHECKING

import orjson
from graphql import FieldNode, GraphQLError, OperationType, get_operation_ast, parse, print_ast
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionResult

from cache.store import data_version

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from graphql import DocumentNode

# Root fields whose answers depend only on the caller's scope and the data, never
# on who the caller is (`me` and `guarantorSuggestions` do; mutations change data).
CACHEABLE_ROOTS = frozenset({"dashboard", "region", "mine", "mines", "mineralTypes", "minesNear", "options"})


@lru_cache(maxsize=512)
def _parse(query: str, max_tokens: int | None = None) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


_VALIDATED: OrderedDict[tuple, list] = OrderedDict()
VALIDATED_MAX = 512


class ValidationByText(SchemaExtension):
    """Validate each distinct (schema, document text, rules) once, off the event loop.

    Strawberry's own ValidationCache keys on the parsed document, whose hash walks
    the whole tree on every request; the text's hash is computed once. The rules
    must be the same classes on every request (see build_schema), or nothing is
    ever found again. A document without text (none here) is validated as usual.

    A document seen for the first time is validated in a thread of its own pool: every
    rule is linear in the document (execution/document_limits.py), but a large document still
    costs milliseconds that other requests must not wait for, and a bug that made a rule
    slow again would stall one request, not the process.
    """

    async def on_validate(self) -> AsyncIterator[None]:
        execution = self.execution_context
        schema = execution.schema._schema  # schemas differ in rules and in error messages
        key = (schema, execution.query, execution.validation_rules) if execution.query else None
        errors = _VALIDATED.get(key) if key is not None else None
        if errors is None:
            errors = await _validate_off_loop(execution)
            if key is not None:
                _VALIDATED[key] = errors
                if len(_VALIDATED) > VALIDATED_MAX:
                    _VALIDATED.popitem(last=False)
        execution.pre_execution_errors = errors
        yield


# Two threads: enough to keep validating while one document is slow, few enough that
# validation never takes the cores from the event loop.
_VALIDATORS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="validate")


async def _validate_off_loop(execution) -> list[GraphQLError]:
    """graphql-core's rules and ours in a validation thread. A query's time limit (graphql_view)
    covers this wait too; a write is validated whatever it takes, like its execution."""
    schema, document, rules = execution.schema._schema, execution.graphql_document, execution.validation_rules
    return await asyncio.get_running_loop().run_in_executor(_VALIDATORS, validate_document, schema, document, rules)


class DocumentCache(SchemaExtension):
    """Parse each distinct document once. A document that does not parse is left to
    Strawberry, which reports the syntax error in the usual way."""

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query and self.execution_context.graphql_document is None:
            try:
                max_tokens = self.execution_context.parse_options.get("max_tokens")
                self.execution_context.graphql_document = _parse(query, max_tokens)
            except GraphQLError:
                pass
        yield


_KEYS: dict[tuple[str, str | None], str | None] = {}


def _document_key(query: str, operation_name: str | None, document: DocumentNode) -> str | None:
    """A digest of the normalised operation, or None when it must not be cached.
    Remembered by query text (hashing a document would walk its whole tree)."""
    key = (query, operation_name)
    if key not in _KEYS:
        if len(_KEYS) >= 512:
            _KEYS.clear()
        _KEYS[key] = _digest(document, operation_name)
    return _KEYS[key]


def _digest(document: DocumentNode, operation_name: str | None) -> str | None:
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.name.value not in CACHEABLE_ROOTS:
            return None
    normalised = f"{operation_name or ''}\n{print_ast(document)}"
    return hashlib.sha256(normalised.encode()).hexdigest()


class ResponseCache(SchemaExtension):
    """Answer a repeated query from the store while the data version is unchanged,
    and let identical queries that arrive while one is being computed wait for it
    (after a write, a burst of the same dashboard or drill-down costs one execution)."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        ctx = execution.context
        key = _cache_key(execution, ctx) if ctx.cache is not None and ctx.scope is not None else None
        if key is not None:
            key = (*key, await _data_version(ctx))
            answer = ctx.cache.get(key)
            status = "hit"
            if answer is None and (leader := ctx.cache.in_flight.get(key)) is not None:
                answer, status = await _outcome(leader), "shared"
            if answer is not None:
                execution.result = ExecutionResult(data=orjson.loads(answer), errors=None)
                _mark(ctx, status)
                yield
                return
            _mark(ctx, "miss")
        mine = None
        if key is not None and key not in ctx.cache.in_flight:
            mine = ctx.cache.in_flight[key] = asyncio.get_running_loop().create_future()
        answer = None
        try:
            yield
            result = execution.result
            if key is not None and result is not None and not result.errors and result.data is not None:
                with suppress(orjson.JSONEncodeError):  # not storable: simply not cached
                    answer = orjson.dumps(result.data)
                    ctx.cache.put(key, answer)
        finally:
            if mine is not None:
                del ctx.cache.in_flight[key]
                mine.set_result(answer)  # None: the waiters run the query themselves


def _cache_key(execution, ctx) -> tuple[str, bytes, str] | None:
    """(document, variables, scope) of a cacheable query, else None."""
    if execution.graphql_document is None:
        return None
    # The operation name as the client sent it (Strawberry otherwise fills it in from the
    # document): the key must be computable from the request alone (`stored_answer`).
    operation_name = getattr(execution, "_provided_operation_name", execution.operation_name)
    document = _document_key(execution.query or "", operation_name, execution.graphql_document)
    return _with_variables(document, execution.variables, ctx)


def _with_variables(document: str | None, variables, ctx) -> tuple[str, bytes, str] | None:
    if document is None:
        return None
    try:
        variables_key = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return None  # e.g. a lone surrogate or a huge integer: let execution refuse it
    return document, variables_key, ctx.scope.key


def stored_answer(ctx, query: str | None, operation_name: str | None, variables) -> bytes | None:
    """The stored answer (JSON of `data`) to a query this process has already run,
    found before Strawberry parses, validates or executes anything; else None.

    Only a document text already seen here has a key: it passed parsing, the limits and
    validation then, and passes them again (they depend on the text and the variables,
    which are part of the key). The data version is the one read with the caller's token."""
    if ctx.cache is None or ctx.scope is None or not query:
        return None
    version = _version_read_with_token(ctx)
    key = _with_variables(_KEYS.get((query, operation_name)), variables, ctx)
    if version is None or key is None:
        return None
    answer = ctx.cache.get((*key, version))
    if answer is not None:
        _mark(ctx, "hit")
    return answer


async def _outcome(leader: asyncio.Future) -> bytes | None:
    """The answer another request is computing; None if it ends without one.
    Shielded: a waiter that gives up (its time limit) must not cancel the leader."""
    try:
        return await asyncio.shield(leader)
    except asyncio.CancelledError:
        if leader.done():  # the leader was cancelled, not this waiter
            return None
        raise


async def _data_version(ctx) -> int:
    """The version read with the caller's token at the start of this request, or now.

    Read before execution either way, so an answer is stored under a version no
    newer than the data it was computed from: it can be served late, never stale."""
    seen = _version_read_with_token(ctx)
    return seen if seen is not None else await data_version(ctx.engine)


def _version_read_with_token(ctx) -> int | None:
    """The data version auth/backend.py read with the caller's token, if it did."""
    return getattr(ctx.request.state, "data_version", None) if ctx.request is not None else None


def _mark(ctx, status: str) -> None:
    if ctx.response is not None:
        ctx.response.headers["X-Cache"] = status
