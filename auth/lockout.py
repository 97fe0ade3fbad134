"""Failed-login counting and temporary lockouts, in the database (shared by all instances).

Two counters per username as typed (known or not, so a lockout never reveals which
usernames exist), in table `login_failure`:

- per (username, client address): LOGIN_MAX_FAILURES (5) failures within
  LOGIN_FAILURE_WINDOW_MINUTES (15) lock that pair;
- per username over all addresses (client "*"): LOGIN_ACCOUNT_MAX_FAILURES (20)
  failures within the window lock the username everywhere, except from an address
  that logged in to it successfully within LOGIN_KNOWN_ADDRESS_DAYS (30).

A lock lasts the next step of LOGIN_LOCKOUT_MINUTES (1, 5, 15: the last is the cap,
at most 60 by validation). After a lock the counter starts again; the step goes back
to the first one after a successful login from that address (pair counters) or a
day without a lock. While a lock holds, every attempt it covers is refused with
RATE_LIMITED before the password is even checked, so a correct password is refused
too and the attempt is not counted. A bound WeChat (`wechatLogin`) and sessions that
already exist are never locked.

Counting happens in the login resolver, once per attempt, so aliased `login` fields
in one document each count (mutation fields run one after another).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select, update

from auth import audit
from auth.log_redaction import redact_phones
from models.account import Account
from models.login_failure import ACCOUNT_WIDE, LoginFailure

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from settings import Settings

# A lock this long past (with no new one) sends the next lock back to the first step.
ESCALATION_RESET = timedelta(days=1)
KEY_LENGTH = 32


def username_key(username: str) -> str:
    """The username as counted and audited: phone numbers typed as usernames are masked."""
    return redact_phones(username)[:KEY_LENGTH]


@dataclass(frozen=True)
class Lock:
    scope: str  # "address" (this username from this address) or "account" (this username everywhere)
    until: datetime
    retry_after: int  # whole seconds, at least 1


@dataclass(frozen=True)
class NewLock:
    scope: str
    until: datetime
    minutes: float
    level: int  # 1 for the first lock in a row, 2 for the second, ...


def _retry_after(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


async def current_lock(
    engine: AsyncEngine, settings: Settings, username: str, client: str, now: datetime
) -> Lock | None:
    """The lock that refuses this username from this client address now, if any."""
    key = username_key(username)
    async with engine.connect() as conn:
        rows = {
            row.client: row
            for row in await conn.execute(
                select(LoginFailure).where(LoginFailure.username == key, LoginFailure.client.in_((client, ACCOUNT_WIDE)))
            )
        }
    pair, everywhere = rows.get(client), rows.get(ACCOUNT_WIDE)
    locks = []
    if pair is not None and pair.locked_until is not None and pair.locked_until > now:
        locks.append(Lock("address", pair.locked_until, _retry_after(pair.locked_until, now)))
    if everywhere is not None and everywhere.locked_until is not None and everywhere.locked_until > now:
        known = (pair is not None and pair.last_success_at is not None
                 and pair.last_success_at > now - timedelta(days=settings.login_known_address_days))
        if not known:
            locks.append(Lock("account", everywhere.locked_until, _retry_after(everywhere.locked_until, now)))
    return max(locks, key=lambda lock: lock.until, default=None)


async def _ensure_row(conn: AsyncConnection, key: str, client: str) -> None:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    await conn.execute(
        insert(LoginFailure)
        .values(username=key, client=client, failures=0, lockouts=0)
        .on_conflict_do_nothing(index_elements=["username", "client"])
    )


async def _count(conn: AsyncConnection, settings: Settings, key: str, client: str, now: datetime) -> NewLock | None:
    """Count one failure on one counter (its row locked for the transaction); lock it at the threshold."""
    await _ensure_row(conn, key, client)
    row = (await conn.execute(
        select(LoginFailure).where(LoginFailure.username == key, LoginFailure.client == client).with_for_update()
    )).one()
    if row.locked_until is not None and row.locked_until > now:
        return None  # raced a lock set meanwhile: the attempt was checked before it, count nothing more
    window = timedelta(minutes=settings.login_failure_window_minutes)
    in_window = row.window_start is not None and row.window_start > now - window
    failures = row.failures + 1 if in_window else 1
    lockouts = row.lockouts
    if row.locked_until is not None and row.locked_until < now - ESCALATION_RESET:
        lockouts = 0
    values = {"failures": failures, "window_start": row.window_start if in_window else now,
              "last_failure_at": now, "lockouts": lockouts}
    threshold = settings.login_account_max_failures if client == ACCOUNT_WIDE else settings.login_max_failures
    new_lock = None
    if failures >= threshold:
        steps = settings.login_lockout_minutes
        minutes = steps[min(lockouts, len(steps) - 1)]
        until = now + timedelta(minutes=minutes)
        values.update(failures=0, window_start=None, lockouts=lockouts + 1, locked_until=until)
        new_lock = NewLock("account" if client == ACCOUNT_WIDE else "address", until, minutes, lockouts + 1)
    await conn.execute(
        update(LoginFailure).where(LoginFailure.username == key, LoginFailure.client == client).values(**values)
    )
    return new_lock


async def register_failure(
    conn: AsyncConnection, settings: Settings, username: str, client: str, now: datetime, *,
    account_id: int | None, address: str | None, request_id: str | None,
) -> list[NewLock]:
    """Count a failed login (inside the caller's transaction); audit any lock it sets off."""
    key = username_key(username)
    locks = []
    # Always the account-wide row first, then the pair: one order, so concurrent failures never deadlock.
    for counter in (ACCOUNT_WIDE, client):
        lock = await _count(conn, settings, key, counter, now)
        if lock is not None:
            locks.append(lock)
            threshold = (settings.login_account_max_failures if lock.scope == "account"
                         else settings.login_max_failures)
            await audit.record(
                conn, "account.locked", account_id=account_id, username=key, request_id=request_id, at=now,
                client=address,
                new={"scope": lock.scope, "minutes": lock.minutes, "until": lock.until.isoformat(),
                     "failures": threshold, "level": lock.level},
            )
    return locks


async def register_success(conn: AsyncConnection, username: str, client: str, now: datetime) -> None:
    """A successful login from this address: its counter, lock and escalation start over, and the
    address counts as known to the account (exempt from the account-wide lock for a while)."""
    key = username_key(username)
    await _ensure_row(conn, key, client)
    await conn.execute(
        update(LoginFailure).where(LoginFailure.username == key, LoginFailure.client == client).values(
            failures=0, window_start=None, lockouts=0, locked_until=None, last_success_at=now,
        )
    )


# --------------------------------------------------------------------------- operators


@dataclass(frozen=True)
class LockListing:
    username: str
    client: str  # an address key, or "*" for every address
    locked_until: datetime
    lockouts: int


async def active_locks(engine: AsyncEngine, now: datetime) -> list[LockListing]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(LoginFailure).where(LoginFailure.locked_until > now)
            .order_by(LoginFailure.locked_until.desc(), LoginFailure.username, LoginFailure.client)
        )
        return [LockListing(r.username, r.client, r.locked_until, r.lockouts) for r in rows]


async def unlock(engine: AsyncEngine, username: str, *, operator: str | None = None) -> int:
    """Lift every lock of the username and reset its counters; returns how many counters were reset."""
    key = username_key(username)
    async with engine.begin() as conn:
        result = await conn.execute(
            update(LoginFailure).where(LoginFailure.username == key).values(
                failures=0, window_start=None, lockouts=0, locked_until=None,
            )
        )
        account_id = (await conn.execute(select(Account.id).where(Account.username == username))).scalar()
        await audit.record(conn, "account.unlocked", account_id=account_id, username=key,
                           new={"counters": result.rowcount, "by": operator})
    return result.rowcount


async def purge_counters(conn: AsyncConnection, settings: Settings, now: datetime) -> int:
    """Delete counters that no longer matter: no lock within a day (so no escalation left), no
    failure within a day, and no success within LOGIN_KNOWN_ADDRESS_DAYS."""
    day_ago = now - ESCALATION_RESET
    known = now - timedelta(days=settings.login_known_address_days)
    quiet_since = min(day_ago, now - timedelta(minutes=settings.login_failure_window_minutes))
    result = await conn.execute(
        delete(LoginFailure).where(
            or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < day_ago),
            or_(LoginFailure.last_failure_at.is_(None), LoginFailure.last_failure_at < quiet_since),
            or_(LoginFailure.last_success_at.is_(None), LoginFailure.last_success_at < known),
        )
    )
    return result.rowcount
