"""Starlette authentication backend: a bearer token in, a user or None out."""

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
        user = await user_for_token(conn.app.state.engine, token.strip(), conn.app.state.settings)
        if user is None:
            return None
        return AuthCredentials(["authenticated"]), user
