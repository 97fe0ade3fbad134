"""Short-lived signed download links (GraphQL `exportLink`), so that a browser can download an
export without the session token ever appearing in an address.

A link is the export's path and parameters plus `acct` (the account id), `exp` (unix seconds) and
`sig`: HMAC-SHA256, under a key derived from SECRET_KEY, over the path, every other parameter, the
account's scope and the digest of the session that asked for it. On use the account and its live
sessions are read again: the link stops working when it expires (at most LINK_TTL_S), when the
account's scope changes, or when that session ends (logout, password reset, expiry) — so an account
locked out of its sessions loses its links too. A changed or added parameter breaks the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from sqlalchemy import select

from auth.sessions import CurrentUser
from models.account import Account, AuthSession

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine

    from settings import Settings

LINK_TTL_S = 600  # ten minutes: long enough to click, short enough that a leaked link dies soon
SIGNED = ("acct", "exp", "sig")
_SESSIONS_TRIED = 50  # the account's most recently used live sessions a link may belong to


def _key(secret: str) -> bytes:
    # Its own key: a cursor signature (resolvers/cursors.py) can never pass for a link's.
    return hmac.new(secret.encode(), b"minegraph export link v1", hashlib.sha256).digest()


def _signature(secret: str, path: str, params: Sequence[tuple[str, str]], scope_key: str, session: str) -> str:
    message = "\n".join((path, urlencode(sorted(params)), scope_key, session)).encode()
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_link(secret: str, path: str, params: Mapping[str, str | None], user: CurrentUser, *,
              exp: int | None = None) -> str:
    """`path?params&acct=&exp=&sig=` for this user's session; `exp` (unix seconds) defaults to
    LINK_TTL_S from now (tests pass a past one)."""
    if user.session is None:
        raise ValueError("a download link belongs to a session")
    exp = int(time.time()) + LINK_TTL_S if exp is None else exp
    pairs = [(k, v) for k, v in params.items() if v is not None]
    pairs += [("acct", str(user.account_id)), ("exp", str(exp))]
    sig = _signature(secret, path, pairs, user.scope.key, user.session)
    return f"{path}?{urlencode([*pairs, ('sig', sig)])}"


async def user_for_link(engine: AsyncEngine, settings: Settings, path: str,
                        params: Sequence[tuple[str, str]]) -> CurrentUser | None:
    """The account a signed link was issued to, if the link is intact, unexpired, and its account
    still has that scope and that session; else None."""
    values = dict(params)
    if len([k for k, _ in params if k in SIGNED]) != len(SIGNED) or set(SIGNED) - values.keys():
        return None  # each of acct, exp and sig exactly once
    account, exp, sig = values["acct"], values["exp"], values["sig"]
    if not (account.isascii() and account.isdigit() and len(account) <= 18):
        return None
    if not (exp.isascii() and exp.isdigit() and len(exp) <= 12):
        return None
    now = int(time.time())
    if not now < int(exp) <= now + LINK_TTL_S:
        return None
    signed = [(k, v) for k, v in params if k != "sig"]
    clock = datetime.now(UTC)
    sessions = (
        select(AuthSession.token_hash)
        .where(AuthSession.account_id == int(account), AuthSession.revoked_at.is_(None),
               AuthSession.expires_at > clock,
               AuthSession.last_seen_at > clock - timedelta(hours=settings.token_idle_hours))
        .order_by(AuthSession.last_seen_at.desc()).limit(_SESSIONS_TRIED)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(select(Account).where(Account.id == int(account)))).first()
        digests = (await conn.execute(sessions)).scalars().all() if row is not None else []
    if row is None:
        return None
    user = CurrentUser.from_row(row)
    secret = settings.resolved_secret_key()
    for digest in digests:
        if hmac.compare_digest(_signature(secret, path, signed, user.scope.key, digest), sig):
            return CurrentUser.from_row(row, session=digest)
    return None
