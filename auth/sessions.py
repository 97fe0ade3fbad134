"""Login sessions: opaque random bearer tokens, stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from auth.passwords import verify_password_async
from auth.users import CurrentUser
from models.account import Account, AuthSession
from models.errors import Unauthenticated

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

BAD_CREDENTIALS = "用户名或密码错误 / wrong username or password"


def utcnow() -> datetime:
    return datetime.now(UTC)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def login(engine: AsyncEngine, username: str, password: str, ttl_hours: float) -> tuple[str, CurrentUser]:
    """Check the password and open a session; the same error for any wrong part."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(Account).where(Account.username == username))).first()
    if not await verify_password_async(row.password_hash if row else None, password):
        raise Unauthenticated(BAD_CREDENTIALS)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    async with engine.begin() as conn:
        await conn.execute(
            insert(AuthSession).values(
                token_hash=token_digest(token),
                account_id=row.id,
                created_at=now,
                expires_at=now + timedelta(hours=ttl_hours),
            )
        )
    return token, CurrentUser.from_row(row)


async def user_for_token(engine: AsyncEngine, token: str) -> CurrentUser | None:
    """The account behind a live, unrevoked, unexpired token; else None."""
    statement = (
        select(Account)
        .join(AuthSession, AuthSession.account_id == Account.id)
        .where(
            AuthSession.token_hash == token_digest(token),
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
    )
    async with engine.connect() as conn:
        row = (await conn.execute(statement)).first()
    return CurrentUser.from_row(row) if row else None
