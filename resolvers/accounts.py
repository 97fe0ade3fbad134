"""Account mutations: login (with WeChat binding), logout, password, profile.

Both logins and the password change go through auth/login_guard.py once per call, so
each aliased field of a document is throttled, checked against lockouts and counted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from auth import audit
from auth.login_guard import LoginAttempt
from auth.passwords import hash_password_async, verify_password_async
from auth.sessions import check_password, open_session, revoke_sessions
from auth.throttle import client_address
from auth.sessions import CurrentUser
from auth.validation import check_password_policy, normalize_email, normalize_name, normalize_phone
from auth.wechat import exchange_code
from models.account import Account
from models.errors import BadUserInput, MinegraphError, Unauthenticated

if TYPE_CHECKING:
    from web.context import Context

NOT_BOUND = "该微信尚未绑定账号 / this WeChat account is not bound: log in once with username and password"
BOUND_ELSEWHERE = "该微信已绑定其他账号 / this WeChat account is bound to another account: log out (注销) there first"


def _client(ctx: Context) -> str:
    return client_address(ctx.request, ctx.settings)


async def login(ctx: Context, username: str, password: str, wechat_code: str | None) -> tuple[str, CurrentUser]:
    attempt = LoginAttempt.of(ctx, "password")
    await attempt.admit(username, datetime.now(UTC))
    account = await check_password(ctx.engine, username, password, ctx.request_id, attempt=attempt)
    openid = await exchange_code(ctx.settings, wechat_code) if wechat_code is not None else None
    try:
        async with ctx.engine.begin() as conn:
            if openid is not None and openid != account.wechat_openid:
                # Binding replaces the account's earlier WeChat, if any; the
                # unique index refuses an openid bound to someone else.
                await conn.execute(update(Account).where(Account.id == account.id).values(wechat_openid=openid))
                await audit.record(conn, "account.wechat_bound", account_id=account.id,
                                   username=account.username, request_id=ctx.request_id, client=attempt.address)
                account = (await conn.execute(select(Account).where(Account.id == account.id))).first()
            await attempt.succeeded(conn, account.username, datetime.now(UTC))
            return await open_session(conn, account, ctx.settings, via="password", request_id=ctx.request_id,
                                      client=attempt.address)
    except IntegrityError:
        raise BadUserInput(BOUND_ELSEWHERE) from None


async def _wechat_failed(attempt: LoginAttempt, ctx: Context, reason: str, *, count: bool) -> None:
    now = datetime.now(UTC)
    async with ctx.engine.begin() as conn:
        await audit.record(conn, "account.wechat_login_failed", new={"reason": reason}, request_id=ctx.request_id,
                           at=now, client=attempt.address)
        if count:
            await attempt.failed(conn, None, None, now)


async def wechat_login(ctx: Context, code: str) -> tuple[str, CurrentUser]:
    attempt = LoginAttempt.of(ctx, "wechat")
    await attempt.admit(None, datetime.now(UTC))  # no username to lock: the code names nobody until exchanged
    try:
        openid = await exchange_code(ctx.settings, code)
    except MinegraphError as error:
        # A malformed, unknown or used code counts against the address; WeChat's own trouble does not.
        await _wechat_failed(attempt, ctx, error.code, count=isinstance(error, BadUserInput))
        error.audited = True
        raise
    async with ctx.engine.begin() as conn:
        account = (await conn.execute(select(Account).where(Account.wechat_openid == openid))).first()
        if account is not None:
            await attempt.succeeded(conn, account.username, datetime.now(UTC))
            return await open_session(conn, account, ctx.settings, via="wechat", request_id=ctx.request_id,
                                      client=attempt.address)
    await _wechat_failed(attempt, ctx, "not bound", count=True)
    error = Unauthenticated(NOT_BOUND)
    error.audited = True
    raise error


async def logout(ctx: Context) -> bool:
    """Revoke this session and unbind WeChat, as the mini-program's 注销 does."""
    user = ctx.user
    async with ctx.engine.begin() as conn:
        await revoke_sessions(conn, user.account_id, only=user.session)
        await conn.execute(update(Account).where(Account.id == user.account_id).values(wechat_openid=None))
        await audit.record(conn, "account.logout", account_id=user.account_id, username=user.username,
                           request_id=ctx.request_id, client=_client(ctx))
    return True


async def change_password(ctx: Context, old: str, new: str, confirm: str) -> bool:
    user = ctx.user
    # The old password is a password guess like a login's: a stolen session must not make
    # it an unthrottled oracle. Same throttle, same counters, same lockouts.
    attempt = LoginAttempt.of(ctx, "change_password")
    await attempt.admit(user.username, datetime.now(UTC))
    async with ctx.engine.connect() as conn:
        current = (await conn.execute(select(Account.password_hash).where(Account.id == user.account_id))).scalar()
    if not await verify_password_async(current, old):
        now = datetime.now(UTC)
        async with ctx.engine.begin() as conn:
            await audit.record(conn, "account.password_change_failed", account_id=user.account_id,
                               username=user.username, request_id=ctx.request_id, at=now, client=attempt.address)
            await attempt.failed(conn, user.username, user.account_id, now)
        raise BadUserInput("原密码错误 / the old password is wrong")
    if new != confirm:
        raise BadUserInput("两次输入的新密码不一致 / the new password and its confirmation differ")
    if new == old:
        raise BadUserInput("新密码不能与原密码相同 / the new password must differ from the old one")
    check_password_policy(new, ctx.settings, username=user.username)
    new_hash = await hash_password_async(new)
    async with ctx.engine.begin() as conn:
        await conn.execute(update(Account).where(Account.id == user.account_id).values(password_hash=new_hash))
        await revoke_sessions(conn, user.account_id, keep=user.session)
        await attempt.succeeded(conn, user.username, datetime.now(UTC))
        await audit.record(conn, "account.password_changed", account_id=user.account_id,
                           username=user.username, request_id=ctx.request_id, client=attempt.address)
    return True


async def update_profile(ctx: Context, name: str | None, phone: str | None, email: str | None) -> CurrentUser:
    """Change the given fields; omitted (null) fields stay as they are; exactly "" clears phone or email
    (anything else, blank-looking or not, must be valid)."""
    values = {}
    if name is not None:
        values["name"] = normalize_name(name)
    if phone is not None:
        values["phone"] = normalize_phone(phone) if phone != "" else None
    if email is not None:
        values["email"] = normalize_email(email) if email != "" else None
    user = ctx.user
    async with ctx.engine.begin() as conn:
        old = (await conn.execute(select(Account).where(Account.id == user.account_id))).first()
        if values:
            await conn.execute(update(Account).where(Account.id == user.account_id).values(**values))
            await audit.record(
                conn, "account.profile_updated", account_id=user.account_id, username=user.username,
                old={k: getattr(old, k) for k in values}, new=values, request_id=ctx.request_id,
                client=_client(ctx),
            )
        row = (await conn.execute(select(Account).where(Account.id == user.account_id))).first()
    updated = CurrentUser.from_row(row, session=user.session)
    ctx.user = updated
    return updated
