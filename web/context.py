"""Per-request context: the caller, their scope, and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from resolvers.filters import FilterSpec, parse_filter
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.requests import Request
    from starlette.responses import Response

    from auth.scope import Scope
    from auth.sessions import CurrentUser
    from models.trees import Trees
    from settings import Settings


@dataclass
class Context:
    request: Request | None
    engine: AsyncEngine
    trees: Trees
    settings: Settings
    user: CurrentUser | None
    request_id: str
    data_version: int | None = None  # read with the caller's token (auth/sessions.py); the response cache's key
    response: Response | None = None  # for headers (X-Cache)
    _filters: dict[int, tuple[Any, FilterSpec]] = field(default_factory=dict, repr=False)

    @property
    def scope(self) -> Scope | None:
        return self.user.scope if self.user else None

    def sign_in(self, user: CurrentUser) -> None:
        """Switch the request to a just-authenticated user, with fresh loaders."""
        self.user = user
        self.__dict__.pop("loaders", None)
        self._filters.clear()  # parsed under the former scope

    @cached_property
    def loaders(self) -> Loaders:
        # Created lazily, once per request, for this caller's scope only.
        return Loaders(self.engine, self.trees, self.scope, self.settings)

    def filter_spec(self, raw: Any) -> FilterSpec:
        """A MineFilter argument (graphql-core's coerced dict or the input object) as a spec,
        parsed once per request: one dict serves every node under one field of the document."""
        if raw is None:
            return parse_filter(None, self.scope, self.trees)
        found = self._filters.get(id(raw))
        if found is None:  # kept with its spec, so its id is not reused during the request
            found = self._filters[id(raw)] = (raw, parse_filter(raw, self.scope, self.trees))
        return found[1]
