"""One login attempt's guard: throttle the client address, honour lockouts, count the outcome.

Used by the `login` and `wechatLogin` resolvers once per attempt (so each aliased
field of a document is one attempt):

1. `admit(username)`: take a token from the address's attempt bucket; refuse while its
   failure bucket is empty; refuse while a lockout covers (username, address). Every
   refusal is RATE_LIMITED with `retryAfterSeconds` and is audited (bounded).
2. the caller checks the password (auth/sessions.check_password) or the WeChat code;
3. `failed(...)` / `succeeded(...)` inside the transaction that writes the audit record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from auth import lockout
from auth.refusals import write_login_refusal
from auth.throttle import client_address, client_key, guards_for, retry_seconds
from models.errors import RateLimited

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from auth.throttle import Guards
    from settings import Settings

THROTTLED = ("登录尝试过于频繁，请 {s} 秒后再试 / too many login attempts from your network address: "
             "try again in {s} s{about}")
LOCKED_HERE = ("登录失败次数过多，已暂时锁定，请 {s} 秒后再试 / too many failed logins for this username from your "
               "network address: try again in {s} s{about}")
LOCKED_EVERYWHERE = ("该用户名登录失败次数过多，已暂时锁定，请 {s} 秒后再试，或用已绑定的微信登录 / too many failed logins "
                     "for this username: try again in {s} s{about}; meanwhile WeChat login (if bound) and a network "
                     "you logged in from before still work")


def rate_limited(template: str, seconds: int) -> RateLimited:
    about = f" (≈{round(seconds / 60)} min)" if seconds >= 120 else ""
    error = RateLimited(template.format(s=seconds, about=about), extensions={"retryAfterSeconds": seconds})
    error.audited = True
    return error


@dataclass
class LoginAttempt:
    engine: AsyncEngine
    settings: Settings
    guards: Guards
    address: str  # the client's address, as audited
    key: str  # what throttles and lockouts count by (auth/throttle.client_key)
    request_id: str | None
    via: str  # "password" or "wechat"

    @classmethod
    def of(cls, ctx, via: str) -> LoginAttempt:
        address = client_address(getattr(ctx, "request", None), ctx.settings)
        return cls(ctx.engine, ctx.settings, guards_for(ctx), address, client_key(address), ctx.request_id, via)

    async def _refuse(self, template: str, seconds: int, username: str | None, reason: str, scope: str) -> None:
        await write_login_refusal(
            self.engine, self.guards, address=self.address, request_id=self.request_id,
            username=lockout.username_key(username) if username is not None else None,
            new={"reason": reason, "scope": scope, "retryAfterSeconds": seconds, "via": self.via},
        )
        raise rate_limited(template, seconds)

    async def admit(self, username: str | None, now: datetime) -> None:
        """Refuse (RATE_LIMITED) or let the attempt go on to its password or code check."""
        wait = self.guards.attempts.take(self.key)
        if wait:
            await self._refuse(THROTTLED, retry_seconds(wait), username, "throttled", "attempts")
        wait = self.guards.failures.wait(self.key)
        if wait:
            await self._refuse(THROTTLED, retry_seconds(wait), username, "throttled", "failures")
        if username is None:
            return
        lock = await lockout.current_lock(self.engine, self.settings, username, self.key, now)
        if lock is not None:
            template = LOCKED_HERE if lock.scope == "address" else LOCKED_EVERYWHERE
            await self._refuse(template, lock.retry_after, username, "locked", lock.scope)

    async def failed(self, conn: AsyncConnection, username: str | None, account_id: int | None, now: datetime) -> None:
        """Count a failed attempt: the address's failure bucket, and the username's counters."""
        self.guards.failures.spend(self.key)
        if username is not None:
            await lockout.register_failure(conn, self.settings, username, self.key, now, account_id=account_id,
                                           address=self.address, request_id=self.request_id)

    async def succeeded(self, conn: AsyncConnection, username: str, now: datetime) -> None:
        await lockout.register_success(conn, username, self.key, now)
