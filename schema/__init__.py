"""The GraphQL schema: types over resolvers; nothing here touches SQL."""

from __future__ import annotations

import strawberry

from schema.errors import ErrorCodes
from schema.mutation import Mutation
from schema.query import Query

class MinegraphSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Expected errors are answers, not incidents: ErrorCodes logs the unexpected."""


schema = MinegraphSchema(
    query=Query,
    mutation=Mutation,
    extensions=[ErrorCodes],
)
