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
        # Whatever fails here (the database down, a bug) is answered by request_ids.RequestIds.
        state = conn.app.state
        found = await user_for_token(state.engine, token.strip(), state.settings, state.point_reader)
        if found is None:
            return None
        user, conn.state.data_version = found  # read with the token: see cache/extensions.py
        return AuthCredentials(["authenticated"]), user
