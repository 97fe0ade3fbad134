"""Accounts and their login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Account(SQLModel, table=True):
    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=32)
    password_hash: str
    tier: str = Field(max_length=12)  # UserTier
    region_code: str | None = Field(default=None, foreign_key="region.code")
    mine_id: int | None = Field(default=None, foreign_key="mine.id", index=True)
    # The guarantor level this account may fill in (the region's -001 account,
    # or the mine's own account): an explicit role, never parsed from names.
    guarantor_level: str | None = Field(default=None, max_length=12)
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    # The WeChat account bound by a login with a code; one openid, one account.
    wechat_openid: str | None = Field(default=None, unique=True, max_length=64)
    created_at: datetime


class AuthSession(SQLModel, table=True):
    """A bearer token, stored only as its SHA-256 digest."""

    __tablename__ = "auth_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


class DatasetInfo(SQLModel, table=True):
    """Key/value facts about the loaded dataset (e.g. the demo seed's parameters)."""

    __tablename__ = "dataset_info"

    key: str = Field(primary_key=True, max_length=64)
    value: str
