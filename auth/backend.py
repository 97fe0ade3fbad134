"""Starlette authentication backend: a bearer token in, a user (and the data version) or None out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.authentication import AuthCredentials, AuthenticationBackend

from auth.sessions import user_for_token

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection


class BearerTokenBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection):
        header = conn.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        # Whatever fails here (the database down, a bug) is answered by request_ids.RequestIds.
        state = conn.app.state
        found = await user_for_token(state.engine, token.strip(), state.settings, state.point_reader)
        if found is None:
            return None
        user, data_version = found
        return TokenCredentials(data_version), user


class TokenCredentials(AuthCredentials):
    """What the token statement read besides the account: the data version, in the same round
    trip (web/graphql_view.py puts it in the Context, the response cache keys on it)."""

    def __init__(self, data_version: int) -> None:
        super().__init__(["authenticated"])
        self.data_version = data_version
