"""Builds the GraphQL schema for one set of settings: the root types, the limits, the document
records (execution/documents.py, with the cost limit), the error codes and the executor (fast
unless settings.fast_execution is off; the response cache sits before it, in web/graphql_view.py).
Called by the app factory and by commands that need the SDL; never at import."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import strawberry
from strawberry.extensions import AddValidationRules, DisableIntrospection, MaxTokensLimiter
from strawberry.schema.config import StrawberryConfig

from execution.documents import Documents
from execution.document_limits import document_limits
from execution.errors import code_errors
from execution.fast_execution import FastExecutionContext
from execution.drill_down import ScopingExecutionContext
from schema.mutation import Mutation
from schema.query import Query
from settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable


class MinegraphSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Where Strawberry hands over an operation's errors, and only when there are some: each gets
        its code (execution/errors.py). Expected errors are answers, not incidents: only the
        unexpected are logged, and masked."""
        code_errors(errors, execution_context)


def build_schema(settings: Settings) -> MinegraphSchema:
    """The schema with the abuse limits of these settings; production also hides
    introspection and field suggestions."""
    # Factories: Strawberry makes fresh extension instances for every request. The limits'
    # rule class is built once here, so that Documents can find its validations again.
    limits = [document_limits(settings.max_query_depth, settings.max_query_aliases, settings.max_query_fields)]
    extensions: list[Callable] = [
        partial(MaxTokensLimiter, max_token_count=settings.max_query_tokens),
        partial(Documents, settings.max_query_cost),
        partial(AddValidationRules, limits),
    ]
    if settings.production:
        extensions.insert(0, DisableIntrospection)
    return MinegraphSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=settings.production),
        # Both hand a tree node's statistics' arguments down (execution/drill_down.py).
        execution_context_class=FastExecutionContext if settings.fast_execution else ScopingExecutionContext,
    )
