"""Account administration for operators (the `minegraph accounts` commands).

Regulator accounts are numbered per region: `<region code>-001` … `-NNN`, with
NNN fixed by the region's level (the 2022 notice: 10 for the nation and each
province, 5 for each city and county). The -001 account of a province, city or
county holds that level's guarantor role.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import case, insert, select, true, update
from sqlalchemy.exc import IntegrityError

from auth import audit
from admin.password_sheet import PasswordSheet
from auth.passwords import hash_password
from auth.sessions import revoke_sessions
from auth.validation import check_password_policy
from models.account import Account
from models.enums import GuarantorLevel, RegionLevel, UserTier
from models.errors import BadUserInput, Conflict, NotFound, quoted
from models.mine import Mine
from models.reference import Region

if TYPE_CHECKING:
    import os

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from settings import Settings

ACCOUNTS_PER_REGION = {RegionLevel.NATION: 10, RegionLevel.PROVINCE: 10, RegionLevel.CITY: 5, RegionLevel.COUNTY: 5}
_TIER = {RegionLevel.NATION: UserTier.NATIONAL, RegionLevel.PROVINCE: UserTier.PROVINCE,
         RegionLevel.CITY: UserTier.CITY, RegionLevel.COUNTY: UserTier.COUNTY}
_GUARANTOR = {RegionLevel.PROVINCE: GuarantorLevel.PROVINCE, RegionLevel.CITY: GuarantorLevel.CITY,
              RegionLevel.COUNTY: GuarantorLevel.COUNTY}
_MINE_COLUMN = {RegionLevel.PROVINCE: Mine.province_code, RegionLevel.CITY: Mine.city_code,
                RegionLevel.COUNTY: Mine.county_code}

# Generated passwords are read off a sheet and typed: no look-alikes (0 O 1 l I), and
# symbols that are neither CSV syntax nor a spreadsheet formula's first character.
_LOWER = "abcdefghijkmnpqrstuvwxyz"
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
_SYMBOLS = "#%*?!"
GENERATED_LENGTH = 16


@dataclass(frozen=True)
class AccountListing:
    username: str
    tier: str
    region_code: str | None
    guarantor_level: str | None
    name: str | None
    mine_code: str | None
    mine_name: str | None
    wechat_bound: bool


@dataclass(frozen=True)
class RegionInfo:
    code: str
    name: str
    level: RegionLevel

    def usernames(self) -> list[str]:
        return [f"{self.code}-{n:03d}" for n in range(1, ACCOUNTS_PER_REGION[self.level] + 1)]


def _settings(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from settings import get_settings

    return get_settings()


def generate_password(settings: Settings, username: str | None = None) -> str:
    """A random password with all four character classes, checked against the policy."""
    length = max(GENERATED_LENGTH, settings.password_min_length)
    pool = _LOWER + _UPPER + _DIGITS + _SYMBOLS
    chars = [secrets.choice(s) for s in (_LOWER, _UPPER, _DIGITS, _SYMBOLS)]
    chars += [secrets.choice(pool) for _ in range(length - 1 - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    # A letter first: no leading symbol that a spreadsheet opening the sheet could run.
    password = secrets.choice(_LOWER + _UPPER) + "".join(chars)
    check_password_policy(password, settings, username=username)  # fails only on a policy no one can meet
    return password


async def find_region(conn: AsyncConnection, code: str) -> RegionInfo:
    row = (await conn.execute(select(Region.code, Region.name, Region.level).where(Region.code == code))).first()
    if row is None:
        raise NotFound(f"未知的行政区划代码 / unknown region code {quoted(code)}: give a 6-digit code from the region "
                       "table, e.g. 000000 (全国), 530000 (云南省), 530100 (昆明市)")
    return RegionInfo(row.code, row.name, RegionLevel(row.level))


async def list_accounts(engine: AsyncEngine, region_code: str, *, with_mines: bool = False) -> list[AccountListing]:
    """The region's numbered accounts; with_mines adds the accounts of every mine inside the region."""
    async with engine.connect() as conn:
        region = await find_region(conn, region_code)
        regulators = (Account.region_code == region.code) & (Account.tier == _TIER[region.level].value)
        condition = regulators
        if with_mines:
            inside = _MINE_COLUMN[region.level] == region.code if region.level in _MINE_COLUMN else true()
            condition = regulators | ((Account.tier == UserTier.ENTERPRISE.value) & inside)
        statement = (
            select(Account, Mine.code.label("mine_code"), Mine.name.label("mine_name"))
            .outerjoin(Mine, Mine.id == Account.mine_id)
            .where(condition)
            .order_by(case((Account.tier == UserTier.ENTERPRISE.value, 1), else_=0), Account.username)
        )
        rows = (await conn.execute(statement)).all()
    return [
        AccountListing(r.username, r.tier, r.region_code, r.guarantor_level, r.name, r.mine_code, r.mine_name,
                       r.wechat_openid is not None)
        for r in rows
    ]


async def create_region_accounts(
    engine: AsyncEngine, region_code: str, csv_path: str | os.PathLike[str], *, settings: Settings | None = None
) -> int:
    """Create the region's missing numbered accounts; their passwords go to csv_path, once.

    Returns how many were created; with none missing, no file is written.
    """
    settings = _settings(settings)
    sheet = PasswordSheet(csv_path)
    sheet.check_free()
    async with engine.connect() as conn:
        region = await find_region(conn, region_code)
        planned = region.usernames()
        existing = set((await conn.execute(select(Account.username).where(Account.username.in_(planned)))).scalars())
    missing = [u for u in planned if u not in existing]
    if not missing:
        return 0
    passwords = [(u, generate_password(settings, u)) for u in missing]
    # Sequentially in one worker thread: each argon2 hash takes 64 MiB while it runs.
    hashes = await asyncio.to_thread(lambda: [hash_password(p) for _, p in passwords])
    sheet.write_pending(passwords)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            for (username, _), password_hash in zip(passwords, hashes):
                account_id = (await conn.execute(insert(Account).values(
                    username=username, password_hash=password_hash, tier=_TIER[region.level].value,
                    region_code=region.code, guarantor_level=_guarantor_level(region, username),
                    created_at=now,
                ).returning(Account.id))).scalar_one()
                await audit.record(conn, "account.created", account_id=account_id, username=username, at=now)
    except IntegrityError:
        sheet.discard()
        raise Conflict("这些账号刚被其他人创建了一部分 / some of these accounts were created by someone else "
                       "meanwhile; nothing was written: run the command again") from None
    except BaseException:
        sheet.discard()
        raise
    sheet.publish()
    return len(missing)


def _guarantor_level(region: RegionInfo, username: str) -> str | None:
    level = _GUARANTOR.get(region.level)
    return level.value if level is not None and username == f"{region.code}-001" else None


async def reset_password(
    engine: AsyncEngine, username: str, new_password: str | None = None, *, settings: Settings | None = None
) -> str:
    """Set a new password (random when none is given) and end every session of the account.

    WeChat is unbound too: a reset usually means someone else may know the old
    password, and a WeChat bound by them would otherwise still log straight in.
    """
    settings = _settings(settings)
    async with engine.connect() as conn:
        account_id = (await conn.execute(select(Account.id).where(Account.username == username))).scalar()
    if account_id is None:
        raise NotFound(f"未知的用户名 / unknown username {quoted(username)}")
    if new_password is None:
        new_password = generate_password(settings, username)
    else:
        check_password_policy(new_password, settings, username=username)
    password_hash = await asyncio.to_thread(hash_password, new_password)
    async with engine.begin() as conn:
        await conn.execute(
            update(Account).where(Account.id == account_id).values(password_hash=password_hash, wechat_openid=None)
        )
        await revoke_sessions(conn, account_id)
        await audit.record(conn, "account.password_reset", account_id=account_id, username=username)
    return new_password
