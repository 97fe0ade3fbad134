"""The GraphQL schema: types over resolvers; nothing here touches SQL."""

from __future__ import annotations

import strawberry

from strawberry.extensions import ValidationCache

from schema.caching import DocumentCache, ResponseCache
from schema.errors import ErrorCodes
from schema.mutation import Mutation
from schema.query import Query

class MinegraphSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Expected errors are answers, not incidents: ErrorCodes logs the unexpected."""


schema = MinegraphSchema(
    query=Query,
    mutation=Mutation,
    # Factories: Strawberry makes fresh extension instances for every request.
    extensions=[ErrorCodes, DocumentCache, lambda: ValidationCache(maxsize=512), ResponseCache],
)
