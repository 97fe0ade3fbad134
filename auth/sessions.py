"""Bearer sessions: who the caller of a request is.

Opaque random bearer tokens, stored only as SHA-256 digests; the Starlette authentication
backend reads one per request and hands on a CurrentUser (or None) and the data version.

A session ends at the first of: logout, a password change elsewhere, its
absolute lifetime, or an idle gap longer than the idle limit.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, exc, insert, select, update
from starlette.authentication import AuthCredentials, AuthenticationBackend

from auth import audit
from auth.lockout import username_key
from auth.passwords import verify_password_async
from auth.scope import Scope
from models.account import Account, AuthSession
from models.data_version import DataVersion
from models.enums import GuarantorLevel, UserTier
from models.errors import Unauthenticated

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
    from starlette.requests import HTTPConnection

    from auth.login_guard import LoginAttempt
    from models.point_reader import PointReader

    from settings import Settings

log = logging.getLogger("minegraph")
_UNREAD = object()
BAD_CREDENTIALS = "用户名或密码错误 / wrong username or password"
# Refreshing last_seen_at on every request would turn every read into a write.
TOUCH_EVERY = timedelta(minutes=5)
# Every request runs it: built once (SQLAlchemy then finds its compiled form at once).
_LIVE_SESSION = (
    select(Account, AuthSession.last_seen_at,
           select(DataVersion.version).where(DataVersion.id == 1).scalar_subquery().label("data_version"))
    .join(AuthSession, AuthSession.account_id == Account.id)
    .where(
        AuthSession.token_hash == bindparam("digest"),
        AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > bindparam("now"),
        AuthSession.last_seen_at > bindparam("idle_since"),
    )
)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class CurrentUser:
    account_id: int
    username: str
    tier: UserTier
    region_code: str | None
    mine_id: int | None
    guarantor_level: GuarantorLevel | None
    name: str | None
    phone: str | None
    email: str | None
    session: str | None = None  # digest of the bearer token this request came with

    @cached_property  # asked for by every field of a request
    def scope(self) -> Scope:
        return Scope(self.tier, self.region_code or "000000", self.mine_id)

    @classmethod
    def from_row(cls, row, session: str | None = None) -> CurrentUser:
        return cls(
            account_id=row.id,
            username=row.username,
            tier=UserTier(row.tier),
            region_code=row.region_code,
            mine_id=row.mine_id,
            guarantor_level=GuarantorLevel(row.guarantor_level) if row.guarantor_level else None,
            name=row.name,
            phone=row.phone,
            email=row.email,
            session=session,
        )


async def check_password(
    engine: AsyncEngine, username: str, password: str, request_id: str | None = None, *,
    attempt: LoginAttempt | None = None,
):
    """The account row for a correct username and password; one error for any wrong part.

    A failure is audited and, with an `attempt` (auth/login_guard.py), counted towards the
    address's throttle and the username's lockouts, in the same transaction.
    """
    async with engine.connect() as conn:
        row = (await conn.execute(select(Account).where(Account.username == username))).first()
    if not await verify_password_async(row.password_hash if row else None, password):
        now = datetime.now(UTC)
        account_id = row.id if row else None
        async with engine.begin() as conn:
            await audit.record(
                conn, "account.login_failed", account_id=account_id, username=username_key(username),
                request_id=request_id, at=now, client=attempt.address if attempt else None,
            )
            if attempt is not None:
                await attempt.failed(conn, username, account_id, now)
        error = Unauthenticated(BAD_CREDENTIALS)
        error.audited = True
        raise error
    return row


async def open_session(
    conn: AsyncConnection, account, settings: Settings, *, via: str, request_id: str | None = None,
    client: str | None = None,
) -> tuple[str, CurrentUser]:
    """Create a session for the account (inside the caller's transaction)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    digest = token_digest(token)
    await conn.execute(
        insert(AuthSession).values(
            token_hash=digest, account_id=account.id, created_at=now, last_seen_at=now,
            expires_at=now + timedelta(hours=settings.token_ttl_hours),
        )
    )
    await audit.record(
        conn, "account.login", account_id=account.id, username=account.username,
        new={"via": via}, request_id=request_id, at=now, client=client,
    )
    return token, CurrentUser.from_row(account, session=digest)


async def user_for_token(
    engine: AsyncEngine, token: str, settings: Settings, point_reader: PointReader | None = None,
) -> tuple[CurrentUser, int] | None:
    """The account behind a live token, refreshing its idle clock, and the data
    version read in the same statement (the response cache's key: one round trip
    per request instead of two); else None.

    With a `point_reader` (models/point_reader.py) the statement takes the cheapest route;
    should that fail, the service's engine reads it."""
    now = datetime.now(UTC)
    digest = token_digest(token)
    parameters = {"digest": digest, "now": now, "idle_since": now - timedelta(hours=settings.token_idle_hours)}
    row = _UNREAD
    if point_reader is not None:
        try:
            row = await point_reader.first(_LIVE_SESSION, parameters)
        except (exc.DBAPIError, OSError) as error:  # busy, or the connection gone: the engine copes
            log.info("token read by the point reader failed (%s): reading through the engine",
                     getattr(error, "orig", error))
    if row is _UNREAD:
        async with engine.connect() as conn:
            row = (await conn.execute(_LIVE_SESSION, parameters)).first()
    if row is None:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        async with engine.begin() as conn:
            await conn.execute(
                update(AuthSession).where(AuthSession.token_hash == digest).values(last_seen_at=now)
            )
    return CurrentUser.from_row(row, session=digest), row.data_version


async def revoke_sessions(
    conn: AsyncConnection, account_id: int, *, only: str | None = None, keep: str | None = None
) -> None:
    """Revoke one session (`only`), or all of the account's but `keep`."""
    statement = update(AuthSession).where(
        AuthSession.account_id == account_id, AuthSession.revoked_at.is_(None)
    )
    if only is not None:
        statement = statement.where(AuthSession.token_hash == only)
    if keep is not None:
        statement = statement.where(AuthSession.token_hash != keep)
    await conn.execute(statement.values(revoked_at=datetime.now(UTC)))


class BearerTokenBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection):
        header = conn.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        # Whatever fails here (the database down, a bug) is answered by http_transport.RequestIds.
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
