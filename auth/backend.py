"""Starlette authentication backend: a bearer token in, a user or None out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError

from auth.sessions import user_for_token
from models.db import database_unavailable

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection


class BearerTokenBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection):
        header = conn.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            state = conn.app.state
            found = await user_for_token(state.engine, token.strip(), state.settings, state.point_reader)
        except Exception as error:
            if database_unavailable(error):
                raise DatabaseUnavailable(str(error)) from error
            raise
        if found is None:
            return None
        user, conn.state.data_version = found  # read with the token: see schema/caching.py
        return AuthCredentials(["authenticated"]), user


class DatabaseUnavailable(AuthenticationError):
    """The token could not be checked because the database is unavailable (app.py answers 503)."""
