"""The one way into the response cache: web/graphql_view.py asks it for every query (never a
mutation), before Strawberry parses, validates or executes anything.

A query of a logged-in caller on scope-only roots (cache/key.py) is answered from the store
(cache/store.py) while the data version read with the caller's token is unchanged; a miss
whose key another request is computing finds the future of that answer in the store and waits
for it; any other miss runs the query under a future of its own, and an answer without errors
replaces that future. Anonymous callers, `me`, `guarantorSuggestions` and documents that do
not parse are never looked up: they go through Strawberry as usual. The response header
`X-Cache: hit|shared|miss` says what happened.

Answering before validation is safe: only answers of documents that passed parsing, the
limits and validation with these variables are stored, and the key holds the normalised
document and the variables, the only inputs of those checks.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

import orjson
from graphql import GraphQLError

from cache.store import ResponseStore
from execution.documents import record

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from strawberry.http import GraphQLRequestData
    from strawberry.types import ExecutionResult

    from web.context import Context


class ResponseCache:
    def __init__(self, max_bytes: int, max_tokens: int) -> None:
        self.store = ResponseStore(max_bytes)
        self.max_tokens = max_tokens  # the parse limit, as the schema's (schema/build.py)

    async def answer(self, ctx: Context, request: GraphQLRequestData,
                     execute: Callable[[], Awaitable[ExecutionResult]]) -> ExecutionResult | bytes:
        """The answer to a query: the JSON of `data` when it comes from (or goes into) the store,
        else what `execute` (Strawberry) returned."""
        key = self._key(ctx, request)
        if key is None:
            return await execute()
        found, status = self.store.get(key), "hit"
        if found is not None and not isinstance(found, bytes):
            found, status = await self.store.shared(found), "shared"
        if found is not None:
            _mark(ctx, status)
            return found
        _mark(ctx, "miss")
        # The first request to miss leads: the ones that come meanwhile wait for its future. A waiter
        # whose leader failed and finds another waiter leading already computes alone.
        computing, answer = self.store.lead(key), None
        try:
            result, answer = await _executed(execute)
        finally:
            self.store.settle(key, answer, computing)
        return result if answer is None else answer

    def _key(self, ctx: Context, request: GraphQLRequestData) -> tuple | None:
        """(document digest, variables, scope, data version), or None: not to be cached."""
        if ctx.scope is None or ctx.data_version is None or not request.query:
            return None
        try:
            # The text's record (execution/documents.py) holds its digest, printed once per operation name.
            digest = record(request.query, self.max_tokens).digest(request.operation_name)
        except GraphQLError:
            return None  # Strawberry reports the syntax error
        if digest is None:
            return None
        try:
            variables = orjson.dumps(request.variables or {}, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            return None  # e.g. a lone surrogate or a huge integer: execution refuses them
        return digest, variables, ctx.scope.key, ctx.data_version


async def _executed(execute: Callable[[], Awaitable[ExecutionResult]]) -> tuple[ExecutionResult, bytes | None]:
    """(result, the JSON of its data to store, or None: an answer with errors, or not encodable)."""
    result = await execute()
    if result.errors or result.data is None:
        return result, None
    with suppress(orjson.JSONEncodeError):
        return result, orjson.dumps(result.data)
    return result, None


def _mark(ctx: Context, status: str) -> None:
    if ctx.response is not None:
        ctx.response.headers["X-Cache"] = status
