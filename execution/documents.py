"""The document of a request: its text (as sent, or a persisted operation found by hash), and one
bounded record per distinct text of what is known about it: the parsed document, the response
cache's digest (cache/key.py), the validation outcome and the cost verdict (execution/cost.py).

Persisted operations: the mini-program's screens send `extensions.persistedQuery.sha256Hash` (the
Apollo convention) instead of the text. In production that is the only way in: a document the
server does not hold is refused, so a stolen token cannot be used to run arbitrary queries.
Development accepts both. The documents are the files of schema/operations/.

Why one record per text: the view (web/graphql_view.py and its operation type), the response
cache (cache/lookup.py) and the schema (the `Documents` extension) all start from the same text,
and each used to keep its own memo of it. Why our own and not Strawberry's ParserCache and
ValidationCache (docs/decisions.md, "One response cache", has the measurements): the view needs
the parsed document before Strawberry runs (to refuse a mutation over GET and pick the time
limit); ParserCache raises a syntax error out of its hook, where it loses its code. Strawberry's
ValidationCache validates a first-seen document on the event loop, and keys on the document,
whose hash walks the whole tree on every request; the text's hash is computed once.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import orjson
from graphql import GraphQLError, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionResult

from cache.key import document_digest
from execution.cost import refusal
from models.errors import BadUserInput
from settings import ROOT

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from graphql import DocumentNode

OPERATIONS_DIR = ROOT / "schema" / "operations"
RECORDS_MAX = 512  # distinct texts remembered, the least recently used forgotten first
PER_TEXT_MAX = 16  # of each kind of fact per text (operation names, schemas, variables and callers)
VERDICT_VARIABLES_MAX = 1024  # bytes of variables (as JSON) a remembered cost verdict may be keyed by
# Two threads: enough to keep validating while one document is slow, few enough that
# validation never takes the cores from the event loop.
_VALIDATORS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="validate")
_UNSEEN = object()


# --------------------------------------------------------------------------- persisted operations


@dataclass(frozen=True)
class Operation:
    name: str
    sha256: str
    document: str


@lru_cache
def registry() -> dict[str, Operation]:
    """Every document under schema/operations/, by the sha256 of its exact bytes."""
    found = {}
    for path in sorted(OPERATIONS_DIR.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        found[digest] = Operation(path.stem, digest, text)
    return found


def persisted_hash(extensions: dict | None) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if not isinstance(persisted, dict):
        return None
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str):
        raise BadUserInput("持久化操作的 sha256Hash 必须是字符串 / extensions.persistedQuery.sha256Hash must be a string")
    return digest.lower()


def resolve_document(query: str | None, extensions: dict | None, production: bool) -> str | None:
    """The text to run for a request (its persisted operation's, or as sent), or BadUserInput."""
    digest = persisted_hash(extensions)
    if digest is None:
        if production:
            raise BadUserInput(
                "本服务只执行已登记的持久化操作 / this server runs only its persisted operations: "
                "send extensions.persistedQuery.sha256Hash (see `minegraph operations`)"
            )
        return query
    operation = registry().get(digest)
    if operation is None:
        raise BadUserInput(f"未知的持久化操作 {digest[:16]}… / unknown persisted operation {digest[:16]}…: "
                           "see `minegraph operations`")
    if query is not None and hashlib.sha256(query.encode("utf-8")).hexdigest() != digest:
        raise BadUserInput("查询文本与 sha256Hash 不符 / the query text does not match its sha256Hash")
    return operation.document


# --------------------------------------------------------------------------- one record per text


@dataclass(eq=False)
class Record:
    """What is known of one text (under one token limit). Each table is bounded by PER_TEXT_MAX and
    emptied when full: a flood of operation names or variables for one text costs a re-computation,
    never memory."""

    document: DocumentNode
    digests: dict[str | None, str | None] = field(default_factory=dict)  # by operation name
    validations: dict[tuple, list[GraphQLError]] = field(default_factory=dict)  # by (schema, rules)
    verdicts: dict[tuple, tuple] = field(default_factory=dict)  # cost: (trees, a refusal's message or None)

    def digest(self, operation_name: str | None) -> str | None:
        """The response cache's digest of the operation (None: not to be cached); printing the
        document walks its tree, so once per operation name."""
        found = self.digests.get(operation_name, _UNSEEN)
        if found is _UNSEEN:
            found = _remember(self.digests, operation_name, document_digest(self.document, operation_name))
        return found

    def cost_refusal(self, execution, max_cost: int) -> str | None:
        """The cost limit's verdict for this execution. It depends on the operation, the variables and
        the caller's root region only (the trees never change while the process runs); the schema, the
        trees and the limit are in the key because tests build apps with others in one process."""
        ctx = execution.context
        region = ctx.scope.region_code if ctx.scope is not None else None
        try:
            variables = orjson.dumps(execution.variables or {}, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            variables = None  # e.g. a lone surrogate: execution refuses it; estimated, not remembered
        schema, name, trees = execution.schema._schema, execution.operation_name, ctx.trees
        # Trees compare by value (a dataclass), so by id; kept in the entry, so the id is not reused.
        key = (schema, id(trees), max_cost, region, name, variables)
        found = self.verdicts.get(key)
        if found is None or found[0] is not trees:
            found = (trees, refusal(schema, self.document, name, execution.variables, trees, region, max_cost))
            if variables is not None and len(variables) <= VERDICT_VARIABLES_MAX:
                _remember(self.verdicts, key, found)
        return found[1]


_RECORDS: OrderedDict[tuple[str, int | None], Record] = OrderedDict()


def record(query: str, max_tokens: int | None) -> Record:
    """The record of a text, parsing it the first time; a syntax error (a GraphQLError) is raised,
    and not remembered (Strawberry parses again to report it)."""
    key = (query, max_tokens)
    found = _RECORDS.get(key)
    if found is not None:
        _RECORDS.move_to_end(key)
        return found
    found = _RECORDS[key] = Record(parse(query, max_tokens=max_tokens))
    if len(_RECORDS) > RECORDS_MAX:
        _RECORDS.popitem(last=False)
    return found


def parsed(query: str, max_tokens: int | None) -> DocumentNode:
    """The document of a text, parsed once per distinct text (and token limit) for the view and
    the schema alike; a syntax error is raised."""
    return record(query, max_tokens).document


def _remember(table: dict, key, value):
    if len(table) >= PER_TEXT_MAX:
        table.clear()
    table[key] = value
    return value


class Documents(SchemaExtension):
    """Parse with `record`; validate each distinct (schema, text, rules) once, off the event loop;
    refuse an operation above the cost limit (MAX_QUERY_COST) before it runs.

    A document that does not parse is left to Strawberry, which reports the syntax error in the
    usual way. The rules must be the same classes on every request (see schema/build.py), or
    nothing is ever found again. A document seen for the first time is validated in a thread of
    its own pool: every rule is linear in the document (execution/document_limits.py), but a large
    document still costs milliseconds that other requests must not wait for, and a bug that made a
    rule slow again would stall one request, not the process.
    """

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost
        self.record: Record | None = None  # this request's text's, once parsed

    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.query and execution.graphql_document is None:
            try:
                self.record = record(execution.query, execution.parse_options.get("max_tokens"))
                execution.graphql_document = self.record.document
            except GraphQLError:
                pass
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        execution = self.execution_context
        key = (execution.schema._schema, execution.validation_rules)  # schemas differ in rules and messages
        errors = self.record.validations.get(key) if self.record is not None else None
        if errors is None:
            errors = await _validate_off_loop(execution)
            if self.record is not None:
                _remember(self.record.validations, key, errors)
        # A list of its own: the schema's error coding (execution/errors.py) works on the list it is given.
        execution.pre_execution_errors = list(errors)
        yield

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.graphql_document is not None and execution.context is not None and execution.result is None:
            # A document parsed elsewhere (none is, today) is estimated all the same, not remembered.
            text = self.record or Record(execution.graphql_document)
            message = text.cost_refusal(execution, self.max_cost)
            if message is not None:
                error = BadUserInput(message)
                execution.result = ExecutionResult(
                    data=None,
                    errors=[GraphQLError(error.message, original_error=error, extensions={"code": error.code})],
                )
        yield


async def _validate_off_loop(execution) -> list[GraphQLError]:
    """graphql-core's rules and ours in a validation thread. A query's time limit (web/graphql_view.py)
    covers this wait too; a write is validated whatever it takes, like its execution."""
    schema, document, rules = execution.schema._schema, execution.graphql_document, execution.validation_rules
    return await asyncio.get_running_loop().run_in_executor(_VALIDATORS, validate_document, schema, document, rules)
