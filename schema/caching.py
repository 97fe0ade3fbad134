"""Caching extensions: parsed documents, and whole answers per scope and data version."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import TYPE_CHECKING

import orjson
from graphql import FieldNode, GraphQLError, OperationType, get_operation_ast, parse, print_ast
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from resolvers.response_cache import data_version

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from graphql import DocumentNode

# Root fields whose answers depend only on the caller's scope and the data, never
# on who the caller is (`me` and `guarantorSuggestions` do; mutations change data).
CACHEABLE_ROOTS = frozenset({"dashboard", "region", "mine", "mines", "mineralTypes", "minesNear", "options"})


@lru_cache(maxsize=512)
def _parse(query: str) -> DocumentNode:
    return parse(query)


class DocumentCache(SchemaExtension):
    """Parse each distinct document once. A document that does not parse is left to
    Strawberry, which reports the syntax error in the usual way."""

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        if query and self.execution_context.graphql_document is None:
            try:
                self.execution_context.graphql_document = _parse(query)
            except GraphQLError:
                pass
        yield


@lru_cache(maxsize=512)
def _document_key(query: str, operation_name: str | None) -> str | None:
    """A digest of the normalised operation, or None when it must not be cached."""
    document = _parse(query)
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.name.value not in CACHEABLE_ROOTS:
            return None
    normalised = f"{operation_name or ''}\n{print_ast(document)}"
    return hashlib.sha256(normalised.encode()).hexdigest()


class ResponseCache(SchemaExtension):
    """Answer a repeated query from the store while the data version is unchanged."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        ctx = execution.context
        key = None
        if ctx.cache is not None and ctx.scope is not None and execution.query:
            try:
                document = _document_key(execution.query, execution.operation_name)
            except GraphQLError:
                document = None
            if document is not None:
                variables = orjson.dumps(execution.variables or {}, option=orjson.OPT_SORT_KEYS)
                key = (document, variables, ctx.scope.key, await data_version(ctx.engine))
                hit = ctx.cache.get(key)
                if hit is not None:
                    execution.result = ExecutionResult(data=orjson.loads(hit), errors=None)
                    _mark(ctx, "hit")
                    yield
                    return
                _mark(ctx, "miss")
        yield
        result = execution.result
        if key is not None and result is not None and not result.errors and result.data is not None:
            ctx.cache.put(key, orjson.dumps(result.data))


def _mark(ctx, status: str) -> None:
    if ctx.response is not None:
        ctx.response.headers["X-Cache"] = status
