"""The audit trail: every change to a mine and every account event, append-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_mine_at", "mine_id", "at"),
        Index("ix_audit_account_action_at", "account_id", "action", "at"),
        # Retention purges and time-range queries (`minegraph audit list --since`), and queries by username
        # (failed logins of unknown usernames have no account_id).
        Index("ix_audit_at", "at"),
        Index("ix_audit_username_at", "username", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    account_id: int | None = Field(default=None, foreign_key="account.id")
    username: str | None = Field(default=None, max_length=32)
    # e.g. mine.location, mine.guarantor, account.login, account.logout, account.locked,
    # access.refused (docs/security.md lists them all)
    action: str = Field(max_length=32)
    mine_id: int | None = Field(default=None, foreign_key="mine.id")
    field: str | None = Field(default=None, max_length=32)  # e.g. location, guarantor.COUNTY
    old_value: str | None = None  # JSON
    new_value: str | None = None  # JSON
    request_id: str | None = Field(default=None, max_length=64)
    # The client's network address (auth/throttle.py: the peer, or X-Forwarded-For from a trusted proxy).
    client: str | None = Field(default=None, max_length=64)
    # The spreadsheet import that made this change (Mine.history's importId).
    import_id: int | None = Field(default=None, foreign_key="mine_import.id")
    # The mine's version this change produced: an import of an older export finds what changed since.
    mine_version: int | None = None
