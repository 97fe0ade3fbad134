"""Documents: each distinct text parsed once, and validated once, off the event loop.

Why our own and not Strawberry's ParserCache and ValidationCache (docs/decisions.md, "One
response cache", has the measurements): the view (web/graphql_view.py) needs the parsed document
before Strawberry runs (to refuse a mutation over GET and pick the time limit), so both share
`parsed`; ParserCache raises a syntax error out of its hook, where it loses its code. Strawberry's
ValidationCache validates a first-seen document on the event loop, and keys on the document,
whose hash walks the whole tree on every request; the text's hash is computed once.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING

from graphql import GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from graphql import DocumentNode

VALIDATED_MAX = 512
_VALIDATED: OrderedDict[tuple, list] = OrderedDict()
# Two threads: enough to keep validating while one document is slow, few enough that
# validation never takes the cores from the event loop.
_VALIDATORS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="validate")


@lru_cache(maxsize=512)
def parsed(query: str, max_tokens: int | None) -> DocumentNode:
    """The document of a text, parsed once per distinct text (and token limit) for the view and
    the schema alike; a syntax error (a GraphQLError) is raised, and not remembered."""
    return parse(query, max_tokens=max_tokens)


class Documents(SchemaExtension):
    """Parse with `parsed`; validate each distinct (schema, text, rules) once, off the event loop.

    A document that does not parse is left to Strawberry, which reports the syntax error in the
    usual way. The rules must be the same classes on every request (see schema/build.py), or
    nothing is ever found again. A document seen for the first time is validated in a thread of
    its own pool: every rule is linear in the document (execution/document_limits.py), but a large
    document still costs milliseconds that other requests must not wait for, and a bug that made a
    rule slow again would stall one request, not the process.
    """

    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.query and execution.graphql_document is None:
            try:
                execution.graphql_document = parsed(execution.query, execution.parse_options.get("max_tokens"))
            except GraphQLError:
                pass
        yield

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


async def _validate_off_loop(execution) -> list[GraphQLError]:
    """graphql-core's rules and ours in a validation thread. A query's time limit (web/graphql_view.py)
    covers this wait too; a write is validated whatever it takes, like its execution."""
    schema, document, rules = execution.schema._schema, execution.graphql_document, execution.validation_rules
    return await asyncio.get_running_loop().run_in_executor(_VALIDATORS, validate_document, schema, document, rules)
